"""100k to 1M chunks: exact against approximate vector search, and whole searches over a
synthetic generation (perturbed real text and clustered vectors, written through the
store's writer)."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np

from benchmarking.measure import percentiles, proc_memory_mb
from benchmarking.synthetic import Perturber, clustered_vectors, sentence_vectors
from service.embedding import Embedder, sentence_spans
from service.indexing.build import default_settings, manifest_for
from service.store import DocumentRecord, NewChunk, PageRecord, open_store, vector_index

faiss: Any = _faiss  # the bundled stubs miss most SWIG attributes


def recall_at(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    hits = [len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth, strict=True)]
    return round(float(np.mean(hits)), 4)


def single_query_ms(index: Any, queries: np.ndarray, k: int = 10, **params: Any
                    ) -> tuple[dict[str, float], np.ndarray]:
    """Latency of one-query searches (as the server makes them) and the ids found."""
    times, found = [], []
    search_params = faiss.SearchParametersIVF(**params) if params else None
    for query in queries:
        started = time.perf_counter()
        _, ids = index.search(query.reshape(1, -1), k, params=search_params)
        times.append((time.perf_counter() - started) * 1000)
        found.append(ids[0])
    return percentiles(times), np.array(found)


def index_file_mb(index: Any, folder: Path) -> float:
    path = folder / "probe.faiss"
    faiss.write_index(index, str(path))
    size = path.stat().st_size / 1e6
    path.unlink()
    return round(size, 1)


def update_costs(index: Any, vectors: np.ndarray, next_id: int) -> dict[str, Any]:
    """Adding one document's worth of vectors (100) and removing them again."""
    ids = np.arange(next_id, next_id + len(vectors), dtype=np.int64)
    started = time.perf_counter()
    index.add_with_ids(vectors, ids)
    added = time.perf_counter() - started
    started = time.perf_counter()
    try:
        index.remove_ids(ids)
        removed: float | str = round((time.perf_counter() - started) * 1000, 1)
    except RuntimeError:
        removed = "unsupported"
    return {"add_100_ms": round(added * 1000, 1), "remove_100_ms": removed}


def ann_comparison(count: int, anchors: np.ndarray, workdir: Path, queries: int = 200,
                   hnsw: bool = True, nprobes: tuple[int, ...] = (8, 16, 32, 64),
                   questions: np.ndarray | None = None) -> dict[str, Any]:
    """Exact, IVF-Flat (the service's choice above the threshold), IVF-SQ8 and HNSW on the
    same clustered vectors: build time, single-query latency, recall@10, size, updates.
    `questions` (real query embeddings) give a second recall figure: real questions sit
    further from every chunk than synthetic queries do, which is harder for IVF."""
    workdir.mkdir(parents=True, exist_ok=True)
    data = clustered_vectors(count, anchors, seed=1)
    query_vectors = clustered_vectors(queries, anchors, seed=2)
    ids = np.arange(1, count + 1, dtype=np.int64)
    extra = clustered_vectors(100, anchors, seed=3)
    rows: dict[str, Any] = {"count": count}
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # one query per request thread, as in the server

    started = time.perf_counter()
    flat = vector_index.new_vector_index(data.shape[1])
    flat.add_with_ids(data, ids)
    build = time.perf_counter() - started
    latency, truth = single_query_ms(flat, query_vectors)
    question_truth = single_query_ms(flat, questions)[1] if questions is not None else None
    rows["flat"] = {"build_s": round(build, 2), "search_ms": latency, "recall@10": 1.0,
                    "file_mb": index_file_mb(flat, workdir),
                    **update_costs(flat, extra, count + 1)}
    del flat

    faiss.omp_set_num_threads(threads)  # training uses every core, as a build would
    for name, factory in (("ivf_flat", None), ("ivf_sq8", "SQ8")):
        started = time.perf_counter()
        index = _ivf(data, ids, factory)
        build = time.perf_counter() - started
        faiss.omp_set_num_threads(1)
        sweep = {}
        for nprobe in nprobes:
            latency, found = single_query_ms(index, query_vectors, nprobe=nprobe)
            sweep[str(nprobe)] = {"search_ms": latency, "recall@10": recall_at(found, truth)}
            if questions is not None and question_truth is not None:
                found = single_query_ms(index, questions, nprobe=nprobe)[1]
                sweep[str(nprobe)]["questions_recall@10"] = recall_at(found, question_truth)
        rows[name] = {"build_s": round(build, 2), "nlist": faiss.downcast_index(index).nlist,
                      "by_nprobe": sweep, "file_mb": index_file_mb(index, workdir),
                      **update_costs(index, extra, count + 1)}
        faiss.omp_set_num_threads(threads)
        del index

    if hnsw:
        started = time.perf_counter()
        graph = faiss.IndexHNSWFlat(data.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = 40
        mapped = faiss.IndexIDMap2(graph)
        mapped.add_with_ids(data, ids)
        build = time.perf_counter() - started
        faiss.omp_set_num_threads(1)
        sweep = {}
        for ef in (32, 64, 128):
            graph.hnsw.efSearch = ef
            latency, found = single_query_ms(mapped, query_vectors)
            sweep[str(ef)] = {"search_ms": latency, "recall@10": recall_at(found, truth)}
        rows["hnsw32"] = {"build_s": round(build, 2), "by_ef_search": sweep,
                          "file_mb": index_file_mb(mapped, workdir),
                          **update_costs(mapped, extra, count + 1)}
        del mapped
    faiss.omp_set_num_threads(threads)
    return rows


def _ivf(data: np.ndarray, ids: np.ndarray, codec: str | None) -> Any:
    if codec is None:
        return vector_index.ivf_index(ids, data)
    dimension, nlist = data.shape[1], vector_index.nlist_for(len(data))
    index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dimension), dimension, nlist,
                                          faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
    sample = data[np.random.default_rng(0).choice(len(data), min(len(data), nlist * 64),
                                                  replace=False)]
    index.cp.niter = 10
    index.train(sample)
    index.nprobe = vector_index.NPROBE
    index.add_with_ids(data, ids)
    return index


def synthetic_generation(index_dir: Path, corpus_dir: Path, count: int, perturber: Perturber,
                         anchors: np.ndarray, embedder: Embedder, per_document: int = 100,
                         metadata: bool = False) -> dict[str, Any]:
    """A published generation of `count` chunks, written through the store (no chunker, no
    model): perturbed real text for the keyword index and hydration, clustered vectors for
    the vector index, and corpus files whose hashes match, so a real incremental build can
    extend it. `text_and_keywords_s` is the time adding documents, `vectors_s` the time
    finishing (vectors added and fitted, files written) and publishing."""
    shutil.rmtree(index_dir, ignore_errors=True)
    shutil.rmtree(corpus_dir, ignore_errors=True)
    corpus_dir.mkdir(parents=True)
    store = open_store(index_dir)
    documents = max(1, count // per_document)
    chunk_vectors = clustered_vectors(documents * per_document, anchors, seed=5)
    with store.build_lock():
        writer = store.begin(None, anchors.shape[1])
        try:
            started = time.perf_counter()
            for number in range(documents):
                document, pages, chunks = synthetic_document(
                    number, perturber, corpus_dir, chunk_vectors, per_document, metadata)
                writer.add_document(document, pages, chunks)
            text_s = time.perf_counter() - started
            started = time.perf_counter()
            counts = {**writer.counts(), "failed": 0}
            writer.finish(manifest_for(embedder, default_settings(embedder), counts))
            name = store.publish(writer)
        except BaseException:
            store.discard(writer)
            raise
    vector_s = time.perf_counter() - started
    return {"chunks": counts["chunks"], "text_and_keywords_s": round(text_s, 1),
            "vectors_s": round(vector_s, 1),
            "vector_index": store.manifest(name)["vector_index"]}


def synthetic_metadata(number: int) -> dict[str, str]:
    """A library's spread (issue 26): four types, 40 publishers, ten years of dates."""
    kinds = ("plan", "bulletin", "case study", "news item")
    return {"type": kinds[number % 4], "publisher": f"Partnership {number % 40}",
            "published": f"{2015 + number % 10}-{number % 12 + 1:02d}-01"}


def synthetic_document(number: int, perturber: Perturber, corpus_dir: Path,
                       chunk_vectors: np.ndarray, per_document: int, metadata: bool = False
                       ) -> tuple[DocumentRecord, list[PageRecord], list[NewChunk]]:
    """One plan of `per_document` chunks, three to a page, and its corpus file."""
    title, area, _ = perturber.document(pages=1, words_per_page=1)
    meta = synthetic_metadata(number) if metadata else {}
    texts = perturber.chunk_texts(per_document)
    relative = f"plan-{number:06d}.md"
    grouped = [texts[i:i + 3] for i in range(0, len(texts), 3)]
    body = "\f".join("\n\n".join(page) for page in grouped)
    front = "".join(f"{key}: {value}\n" for key, value in meta.items())
    raw = f"---\ntitle: {title}\narea: {area}\n{front}---\n{body}".encode()
    (corpus_dir / relative).write_bytes(raw)
    document = DocumentRecord(
        id=relative.removesuffix(".md"), path=relative, title=title, area=area,
        source_url=None, published=meta.get("published"),
        sha256=hashlib.sha256(raw).hexdigest(), size=len(raw), pages=len(grouped),
        chunks=len(texts), indexed_at="2026-01-01T00:00:00+00:00",
        publisher=meta.get("publisher"), doc_type=meta.get("type"))
    pages = [PageRecord(p + 1, str(p + 1), "\n\n".join(page)) for p, page in enumerate(grouped)]
    chunks = []
    for ordinal, text in enumerate(texts):
        page = ordinal // 3 + 1
        offset = sum(len(t) + 2 for t in grouped[page - 1][:ordinal % 3])
        row = number * per_document + ordinal  # chunk ids are row + 1, as the writer numbers
        spans = sentence_spans(text) or [(0, len(text))]
        chunks.append(NewChunk(
            ordinal, page, page, str(page), "Plan", offset, offset + len(text), text, 150,
            chunk_vectors[row], spans, sentence_vectors(chunk_vectors[row], len(spans), row + 1)))
    return document, pages, chunks


def generation_memory(index_dir: Path) -> dict[str, Any]:
    """RSS of a process that has loaded the generation (memory-mapped vectors)."""
    store = open_store(index_dir)
    current = store.current()
    assert current is not None
    before = proc_memory_mb()
    started = time.perf_counter()
    generation = store.open(current)
    load_s = time.perf_counter() - started
    after = proc_memory_mb()
    generation.close()
    return {"load_s": round(load_s, 2), "rss_before_mb": before.get("rss"),
            "rss_after_mb": after.get("rss")}


def headline(scale: dict[str, Any]) -> dict[str, Any]:
    """The figures issue 13's targets name, from one scale section: hybrid search with
    query encoding excluded, one document added by a real incremental build, and a
    gunicorn server on the generation (start to first answer, each worker's PSS)."""
    search, added = scale["search"], scale["incremental_add"]
    server = scale.get("server", {})
    workers = server.get("memory_mb", {}).get("workers", [])
    return {
        "chunks": scale["chunks"],
        "search_p50_ms": search["total"]["p50"], "search_p99_ms": search["total"]["p99"],
        "search_stages_p50_ms": {stage: value.get("p50") for stage, value in
                                 search["stages"].items() if isinstance(value, dict)},
        "add_document_s": added["seconds"], "add_document_encode_s": added["encode_s"],
        "add_document_pages": added["pages"],
        "start_to_first_answer_s": server.get("start_to_first_answer_s"),
        "worker_pss_mb": max((w.get("pss", 0.0) for w in workers), default=None),
        "generation_load_s": scale["memory"]["load_s"],
    }
