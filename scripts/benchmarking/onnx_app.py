"""The app served with the ONNX Runtime embedder instead of sentence-transformers, for
comparing start-up and cold-query latency (`scripts/bench.py --onnx-server`). Not used by
`make run`: switching the default is a decision for the retrieval-quality evaluation."""

from __future__ import annotations

import os

from flask import Flask

from service.config import load_config
from service.embedding.onnx_runtime import OnnxEmbedder


def create_app() -> Flask:
    from service import create_app as factory

    settings = load_config()
    embedder = OnnxEmbedder(settings["MODEL"], threads=int(settings["TORCH_THREADS"]),
                            quantized=os.environ.get("PLANSEARCH_BENCH_ONNX_INT8") == "1")
    return factory({"EMBEDDER": embedder})
