"""Build throughput against the model's own encode rate, encoder backends, and the
incremental add of one document to large indexes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarking.measure import Stopwatch, TimedEmbedder, dir_size_mb, percentiles
from benchmarking.synthetic import Perturber, SyntheticEmbedder, write_corpus
from service.embedding import Embedder
from service.evaluation import sync_corpus
from service.indexing.build import build_index, default_settings
from service.indexing.chunking import ChunkSettings, chunk_document, embedding_text
from service.indexing.documents import Document
from service.indexing.plan import reuse_reason
from service.indexing.sandbox import read_document_safely
from service.store import open_store


def full_build(corpora: Sequence[Path], workdir: Path, embedder: Embedder
               ) -> tuple[dict[str, Any], np.ndarray]:
    """A from-scratch build with a loaded model, split into reading, tokenising, encoding
    and the rest; then the model alone on exactly the texts the build embedded, twice
    (one call each: the physical limit the build is compared with). Also returns those
    texts' vectors: the corpus's real chunk embeddings."""
    corpus, index = workdir / "corpus", workdir / "index"
    sync_corpus(list(corpora), corpus)
    shutil.rmtree(index, ignore_errors=True)
    embedder.embed_query("warm up")  # model load and first-call costs are not throughput
    timed = TimedEmbedder(embedder)
    texts: list[str] = []
    timed.recorded = texts
    reading, build = Stopwatch(), Stopwatch()

    def timed_read(path: Path, relative: str) -> Document:
        with reading:
            return read_document_safely(path, relative)

    with build:
        report = build_index(corpus, index, timed, full=True,  # type: ignore[arg-type]
                             read=timed_read)
    raw = Stopwatch()
    passes = 2 if len(texts) < 300 else 1  # a short pass is noisier: repeat it
    vectors = np.zeros((0, embedder.dimension), dtype=np.float32)
    for _ in range(passes):
        with raw:
            vectors = embedder.embed_documents(texts)
    raw_s, raw_cpu = raw.seconds / passes, raw.cpu / passes
    tokens = sum(embedder.count_tokens(t) for t in texts)
    total = build.seconds
    return {
        "documents": len(report.added), "failed": len(report.failed), "chunks": report.chunks,
        "embedded_tokens": tokens, "seconds": round(total, 3),
        "read_s": round(reading.seconds, 3), "tokenize_s": round(timed.tokenize.seconds, 3),
        "encode_s": round(timed.encode.seconds, 3),
        "other_s": round(total - reading.seconds - timed.encode.seconds
                         - timed.tokenize.seconds, 3),
        "chunks_per_s": round(report.chunks / total, 2),
        "tokens_per_s": round(tokens / total, 1),
        "raw_encode_s": round(raw_s, 3),
        "raw_chunks_per_s": round(len(texts) / raw_s, 2),
        "raw_tokens_per_s": round(tokens / raw_s, 1),
        "overhead_vs_raw": round(total / raw_s - 1, 3),
        "overhead_vs_raw_excluding_read": round((total - reading.seconds) / raw_s - 1, 3),
        "cpu_s": {"build": round(build.cpu, 2), "read": round(reading.cpu, 2),
                  "encode": round(timed.encode.cpu, 2), "raw_encode": round(raw_cpu, 2)},
        "cpu_overhead_vs_raw": round(build.cpu / raw_cpu - 1, 3),
        "cpu_overhead_vs_raw_excluding_read": round((build.cpu - reading.cpu) / raw_cpu - 1, 3),
        "sentence_vectors": hasattr(timed, "embed_with_sentences"),
        "index_mb": dir_size_mb(index), "index_dir": str(index),
    }, vectors


def chunk_texts(corpora: Sequence[Path], embedder: Embedder, chunk_tokens: int) -> list[str]:
    """What a build with this chunk size would embed, read with the real readers."""
    settings = ChunkSettings(chunk_tokens=chunk_tokens)
    texts = []
    for folder in corpora:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            try:
                document = read_document_safely(path, path.name)
            except Exception:  # noqa: BLE001 - unreadable fixtures are simply not benchmarked
                continue
            title = document.meta.title or path.stem
            for chunk in chunk_document(document, embedder.count_tokens, settings):
                texts.append(embedding_text(title, chunk.section, chunk.text,
                                            embedder.count_tokens, settings))
    return texts


def long_passages(texts: Sequence[str], embedder: Embedder, tokens: int = 300) -> list[str]:
    """Passages of 256+ tokens (truncated by the model), the baseline the issue measured."""
    passages, current = [], ""
    for text in texts:
        current = f"{current} {text}".strip()
        if embedder.count_tokens(current) >= tokens:
            passages.append(current)
            current = ""
    return passages


def encode_rate(embedder: Embedder, texts: Sequence[str], repeats: int = 1
                ) -> tuple[dict[str, Any], np.ndarray]:
    """Texts and tokens per second (best of `repeats`), and the vectors."""
    embedder.embed_documents(list(texts[:4]))
    best, vectors = float("inf"), np.zeros(0)
    for _ in range(repeats):
        started = time.perf_counter()
        vectors = embedder.embed_documents(list(texts))
        best = min(best, time.perf_counter() - started)
    tokens = sum(min(embedder.count_tokens(t), embedder.max_seq_length) for t in texts)
    return ({"texts": len(texts), "seconds": round(best, 3),
             "per_s": round(len(texts) / best, 2), "tokens_per_s": round(tokens / best, 1)},
            vectors)


def query_latency(embedder: Embedder, queries: Sequence[str]) -> dict[str, float]:
    embedder.embed_query("warm up")
    times = []
    for query in queries:
        started = time.perf_counter()
        embedder.embed_query(query)
        times.append((time.perf_counter() - started) * 1000)
    return percentiles(times)


def import_seconds(statement: str) -> float:
    """Wall time of an import in a fresh interpreter (what a server start pays)."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    return round(float(out.stdout.strip().splitlines()[-1]), 2)


def compare_backends(backends: dict[str, Embedder], texts_by_size: dict[int, list[str]],
                     baseline: Sequence[str], rounds: int = 1) -> dict[str, Any]:
    """Throughput of every backend at every chunk size, plus torch on 256-token passages
    (the issue's baseline), measured round-robin `rounds` times and keeping each one's
    best: other jobs on the machine then slow all of them alike instead of whichever
    happened to run during a busy minute. Also agreement with torch fp32."""
    first = next(iter(backends))
    jobs = [(name, size, texts) for name in backends for size, texts in texts_by_size.items()]
    jobs.append(("baseline", 256, list(baseline)))
    best: dict[tuple[str, int], dict[str, Any]] = {}
    vectors: dict[tuple[str, int], np.ndarray] = {}
    for name in backends:
        backends[name].embed_query("load")
    for _ in range(rounds):
        for name, size, texts in jobs:
            embedder = backends[first if name == "baseline" else name]
            rate, vectors[(name, size)] = encode_rate(embedder, texts)
            if (name, size) not in best or rate["per_s"] > best[(name, size)]["per_s"]:
                best[(name, size)] = rate
    results: dict[str, Any] = {"baseline_torch_256": best[("baseline", 256)], "backends": {}}
    for name in backends:
        row: dict[str, Any] = {}
        for size in texts_by_size:
            row[f"chunks_{size}"] = best[(name, size)]
            if name != first:
                cosine = (vectors[(name, size)] * vectors[(first, size)]).sum(axis=1)
                row[f"cosine_to_torch_{size}"] = {"min": round(float(cosine.min()), 4),
                                                  "mean": round(float(cosine.mean()), 4)}
        results["backends"][name] = row
    results["rounds"] = rounds
    return results


def incremental_add(base_chunks: int, workdir: Path, embedder: Embedder, anchors: np.ndarray,
                    perturber: Perturber, pages: int = 30) -> dict[str, Any]:
    """Add one perturbed `pages`-page plan to an index of about `base_chunks` chunks.

    The base is built by the real pipeline but with synthetic vectors (encoding it would
    take hours) and kept between runs; the added document goes through the real model."""
    corpus, index = workdir / "corpus", workdir / "index"
    chunks_per_doc = _chunks_per_document(perturber, embedder, pages, workdir)
    documents = max(1, round(base_chunks / chunks_per_doc))
    marker = workdir / f"base-{documents}.done"
    base_build = None
    store = open_store(index)
    previous = store.current()
    if not marker.exists() or previous is None or reuse_reason(
            store, previous, embedder, default_settings(embedder)) is not None:
        shutil.rmtree(workdir, ignore_errors=True)
        write_corpus(corpus, documents, perturber, pages)
        started = time.perf_counter()
        build_index(corpus, index, SyntheticEmbedder(embedder, anchors))  # type: ignore[arg-type]
        base_build = round(time.perf_counter() - started, 1)
        marker.write_text("ok")
    result = add_one_document(corpus, index, embedder, perturber, pages)
    return {"base_documents": documents, "base_build_s": base_build, **result}


def add_one_document(corpus: Path, index: Path, embedder: Embedder, perturber: Perturber,
                     pages: int = 30) -> dict[str, Any]:
    """Time a real incremental build that adds one document, then restore the index."""
    store = open_store(index)
    base = store.current()
    assert base is not None
    store.prune(fallbacks=0)  # only the base, so the index's growth is the new generation
    before_mb = dir_size_mb(index)
    _, _, text = perturber.document(pages)
    added = corpus / "added-plan.md"
    added.write_text(text, encoding="utf-8")
    timed = TimedEmbedder(embedder)
    embedder.embed_query("warm up")
    try:
        started = time.perf_counter()
        report = build_index(corpus, store, timed)  # type: ignore[arg-type]
        total = time.perf_counter() - started
    finally:
        added.unlink()
    assert report.generation is not None and report.generation != base
    result = {
        "base_chunks": report.chunks - report.embedded_chunks,
        "added_chunks": report.embedded_chunks, "pages": pages,
        "seconds": round(total, 3), "encode_s": round(timed.encode.seconds, 3),
        "overhead_s": round(total - timed.encode.seconds, 3),
        "tokenize_s": round(timed.tokenize.seconds, 3),
        "generation_mb": round(dir_size_mb(index) - before_mb, 2),
        "vector_index": store.manifest(report.generation)["vector_index"],
    }
    # put the base back as it was, so the next run adds to the same index
    store.point_to(base)
    store.prune(fallbacks=0)
    return result


def _chunks_per_document(perturber: Perturber, embedder: Embedder, pages: int,
                         workdir: Path) -> float:
    from service.indexing.readers.text import read_text

    workdir.mkdir(parents=True, exist_ok=True)
    probe = workdir / "probe.md"
    counts = []
    for _ in range(3):
        probe.write_text(perturber.document(pages)[2], encoding="utf-8")
        counts.append(len(chunk_document(read_text(probe, probe.name), embedder.count_tokens)))
    probe.unlink()
    return float(np.mean(counts))
