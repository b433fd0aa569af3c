#!/usr/bin/env python
"""The embedded store beside Milvus Lite at one size: a synthetic generation of N chunks
written through each store (perturbed real text, clustered vectors: see scale_bench),
then whole searches per mode, then what an incremental build's clone of the base costs
against changing one document in place. Prints one JSON object.

    PYTHONPATH=scripts:. python scripts/benchmarking/milvus_bench.py --chunks 200000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from benchmarking import query_bench, scale_bench
from benchmarking.synthetic import Perturber, source_paragraphs
from service.embedding import SentenceTransformerEmbedder
from service.store import open_store
from service.store.milvus.connection import stop_lite_server

ROOT = Path(__file__).resolve().parents[2]

MODES = ("hybrid", "dense", "keyword")
REPLACEMENT = 999_999  # the document number of the one an incremental build replaces


def questions(limit: int) -> list[str]:
    lines = (ROOT / "tests" / "data" / "seed-questions.jsonl").read_text().splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()][:limit]


def measure(backend: str, folder: Path, size: int, perturber: Perturber, anchors: Any,
            embedder: Any, asked: list[str]) -> dict[str, Any]:
    """Write, search and clone one backend's generation (the store comes from
    PLANSEARCH_STORE, as scale_bench opens it)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    url = f"milvus-lite://{folder / 'milvus.db'}" if backend == "milvus-lite" else ""
    os.environ["PLANSEARCH_STORE"] = url
    result: dict[str, Any] = {"write": scale_bench.synthetic_generation(
        folder / "index", folder / "corpus", size, perturber, anchors, embedder)}
    searcher = query_bench.searcher_for(folder / "index", embedder)
    for question in asked:  # query encoding is the same on both: keep it out
        searcher.candidates.query_vector(question)
    for mode in MODES:
        result[mode] = query_bench.run_queries(searcher, asked, mode=mode, highlight=False)
    result["incremental"] = incremental(open_store(folder / "index"), perturber, folder)
    if url:
        stop_lite_server(str(folder / "milvus.db"))
    return result


def incremental(store: Any, perturber: Perturber, folder: Path) -> dict[str, float]:
    """An incremental build's fixed cost (a new generation cloned from the live one) and
    its per-document cost (one plan's 100 chunks replaced), in seconds."""
    current = store.current()
    manifest = store.manifest(current)
    base = store.open(current)
    first = base.documents()[0]
    base.close()
    with store.build_lock():
        started = time.perf_counter()
        writer = store.begin(current, int(manifest["dimension"]))
        cloned = time.perf_counter() - started
        try:
            started = time.perf_counter()
            _, pages, new_chunks = scale_bench.synthetic_document(
                REPLACEMENT, perturber, folder / "corpus",
                one_document_vectors(int(manifest["dimension"])), 100)
            writer.delete_document(first.id)
            writer.add_document(first, pages, new_chunks)
            writer.counts()
            replaced = time.perf_counter() - started
        finally:
            store.discard(writer)
    return {"clone_s": round(cloned, 2), "replace_one_document_s": round(replaced, 2)}


def one_document_vectors(dimension: int) -> OffsetRows:
    """Unit vectors for the replacement document's 100 chunks."""
    import numpy as np

    block = np.random.default_rng(3).normal(size=(100, dimension)).astype(np.float32)
    return OffsetRows(block / np.linalg.norm(block, axis=1, keepdims=True), REPLACEMENT * 100)


class OffsetRows:
    """Rows `start`..`start + len(block)` of a virtual matrix: what synthetic_document
    indexes by its document number, without allocating the rows before it."""

    def __init__(self, block: Any, start: int) -> None:
        self.block, self.start = block, start

    def __getitem__(self, row: int) -> Any:
        return self.block[row - self.start]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=200_000, help="chunks per generation")
    parser.add_argument("--queries", type=int, default=35, help="seed questions asked")
    parser.add_argument("--backends", default="embedded,milvus-lite",
                        help="comma-separated: embedded, milvus-lite")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".cache" / "milvus-bench",
                        help="where the generations are written (replaced each run)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder()
    perturber = Perturber(source_paragraphs([ROOT / "corpus"], args.workdir / "cache"), seed=7)
    anchors = embedder.embed_documents(perturber.paragraphs[:200])
    asked = questions(args.queries)
    results = {"chunks": args.chunks, "queries": len(asked)}
    for backend in args.backends.split(","):
        results[backend] = measure(backend, args.workdir / f"{backend}-{args.chunks}",
                                   args.chunks, perturber, anchors, embedder, asked)
        print(json.dumps({backend: results[backend]}), file=sys.stderr, flush=True)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
