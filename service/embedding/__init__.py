"""Text to normalised vectors: the `Embedder` interface, the embedders (ONNX Runtime by
default, sentence-transformers as the reference and fallback), and sentence boundaries.
`make_embedder` picks one by the EMBEDDER setting."""

from __future__ import annotations

from typing import Any

from service.embedding.models import (
    DEFAULT_MODEL,
    Embedder,
    ModelNotAvailable,
    SentenceTransformerEmbedder,
    resolve_model_path,
)
from service.embedding.sentences import sentence_spans

BACKENDS = ("onnx", "onnx-int8", "sentence-transformers")

__all__ = ["BACKENDS", "DEFAULT_MODEL", "Embedder", "ModelNotAvailable",
           "SentenceTransformerEmbedder", "make_embedder", "resolve_model_path",
           "sentence_spans"]


def make_embedder(backend: Any, model: str | None = None, batch_size: int = 32,
                  threads: int | None = None) -> Embedder:
    """The embedder a setting names; an embedder object (tests inject one) is used as is."""
    if not isinstance(backend, str):
        embedder: Embedder = backend
        return embedder
    if backend == "sentence-transformers":
        return SentenceTransformerEmbedder(model, batch_size=batch_size, threads=threads)
    if backend in ("onnx", "onnx-int8"):
        from service.embedding.onnx_runtime import OnnxEmbedder

        return OnnxEmbedder(model, batch_size=batch_size, threads=threads,
                            quantized=backend == "onnx-int8")
    raise ModelNotAvailable(f"unknown embedder {backend!r}; PLANSEARCH_EMBEDDER must be one "
                            f"of {', '.join(BACKENDS)}")
