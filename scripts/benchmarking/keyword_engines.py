"""FTS5, tantivy and bm25s side by side: index time, query latency, memory and top-10
overlap on synthetic chunks, and retrieval quality on the evaluation sets. Every engine
indexes the same text.index_terms() text; each runs in its own process, so its
memory is its own."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarking.measure import dir_size_mb, peak_rss_mb, percentiles, proc_memory_mb
from service.store.keyword_index import KeywordIndex, KeywordSearcher, analyzer
from service.text import PHRASES, expansions, index_terms, query_terms

ENGINES = ("fts5", "tantivy", "bm25s")


def keyword_query(text: str, synonyms: bool = True, phrases: str = "pairs") -> str | None:
    """The FTS5 MATCH expression the store used: any term or phrase may match; BM25 ranks
    by how many match and how rare they are."""
    extra = (expansions(text) if synonyms else []) + PHRASES[phrases](text)
    parts = [f'"{part}"' for part in query_terms(text) + extra]
    return " OR ".join(parts) if parts else None


class Fts5Engine:
    """The FTS5 table and queries the embedded store used before tantivy."""

    def __init__(self, folder: Path, chunks: Sequence[tuple[int, str]]) -> None:
        self.conn = sqlite3.connect(folder / "fts.sqlite", check_same_thread=False)
        self.conn.execute("CREATE VIRTUAL TABLE chunks_fts USING fts5(terms, "
                          "tokenize = 'porter unicode61')")
        self.conn.executemany("INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)",
                              ((i, index_terms(t)) for i, t in chunks))
        self.conn.commit()

    def query(self, text: str, synonyms: bool = True, phrases: str = "pairs") -> Any:
        expression = keyword_query(text, synonyms, phrases)
        return _Query(text, expression) if expression else None

    def search(self, query: Any, k: int, allowed: Sequence[int] | None = None
               ) -> list[tuple[int, float]]:
        fetch = k if allowed is None else max(k * 10, 500)
        rows = self.conn.execute("SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? "
                                 "ORDER BY rank LIMIT ?", (query.value, fetch)).fetchall()
        permitted = set(allowed) if allowed is not None else None
        return [(int(i), -float(r)) for i, r in rows if permitted is None or i in permitted][:k]

    def scores(self, query: Any, ids: Sequence[int]) -> dict[int, float]:
        scores = {int(i): 0.0 for i in ids}
        if ids:
            rows = self.conn.execute(f"SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH "
                                     f"? AND rowid IN ({','.join('?' * len(ids))})",
                                     [query.value, *ids])
            scores.update({int(i): -float(r) for i, r in rows})
        return scores


class TantivyEngine:
    """The store's own keyword index (service/store/keyword_index.py)."""

    def __init__(self, folder: Path, chunks: Sequence[tuple[int, str]]) -> None:
        index = KeywordIndex.create(folder / "keywords")
        for chunk_id, text in chunks:
            index.add(chunk_id, text)
        index.commit()
        self.searcher = KeywordSearcher(folder / "keywords")

    def query(self, text: str, synonyms: bool = True, phrases: str = "pairs") -> Any:
        return self.searcher.query(text, synonyms, phrases)

    def search(self, query: Any, k: int, allowed: Sequence[int] | None = None
               ) -> list[tuple[int, float]]:
        return self.searcher.search(query, k, allowed)

    def scores(self, query: Any, ids: Sequence[int]) -> dict[int, float]:
        return self.searcher.scores(query, ids)


class Bm25sEngine:
    """bm25s (sparse matrices in NumPy) on the same stemmed terms. It has no phrase
    search, so a query is its terms and its synonyms' words."""

    def __init__(self, folder: Path, chunks: Sequence[tuple[int, str]]) -> None:
        import bm25s

        self.stem = analyzer().analyze
        self.ids = np.array([i for i, _ in chunks], dtype=np.int64)
        self.row = {int(i): r for r, i in enumerate(self.ids)}
        self.model = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
        self.model.index([self.stem(index_terms(t)) for _, t in chunks], show_progress=False)

    def query(self, text: str, synonyms: bool = True, phrases: str = "pairs") -> Any:
        words = [*query_terms(text), *(expansions(text) if synonyms else [])]
        tokens = list(dict.fromkeys(t for w in words for t in self.stem(w)
                                    if t in self.model.vocab_dict))
        return _Query(text, tokens) if tokens else None

    def search(self, query: Any, k: int, allowed: Sequence[int] | None = None
               ) -> list[tuple[int, float]]:
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self.ids), dtype=np.float32)
            mask[[self.row[i] for i in allowed if i in self.row]] = 1
        k = min(k, len(self.ids))
        rows, scores = self.model.retrieve([query.value], k=k, show_progress=False,
                                           weight_mask=mask)
        return [(int(self.ids[r]), float(s)) for r, s in zip(rows[0], scores[0], strict=True)
                if s > 0]

    def scores(self, query: Any, ids: Sequence[int]) -> dict[int, float]:
        every = self.model.get_scores(query.value)
        return {int(i): float(every[self.row[int(i)]]) for i in ids}


class _Query:
    def __init__(self, text: str, value: Any) -> None:
        self.text, self.value = text, value


def build_engine(name: str, folder: Path, chunks: Sequence[tuple[int, str]]) -> Any:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    kind = {"fts5": Fts5Engine, "tantivy": TantivyEngine, "bm25s": Bm25sEngine}[name]
    return kind(folder, chunks)


def _measure(name: str, texts_file: str, folder: str, questions: list[str]) -> dict[str, Any]:
    """In a fresh process: build, then search every question once for its top 10."""
    texts = json.loads(Path(texts_file).read_text())
    chunks = list(enumerate(texts, start=1))
    count = len(texts)
    del texts
    started = time.perf_counter()
    engine = build_engine(name, Path(folder), chunks)
    index_s = time.perf_counter() - started
    del chunks
    times, top = [], []
    for question in questions:
        started = time.perf_counter()
        query = engine.query(question)
        found = engine.search(query, 10) if query is not None else []
        times.append((time.perf_counter() - started) * 1000)
        top.append([i for i, _ in found])
    scored = []  # scores of 100 chunks spread over the index, as convex fusion asks
    for number, question in enumerate(questions):
        query = engine.query(question)
        if query is not None:
            ids = sorted({1 + (number * 7919 + j * (count // 100)) % count for j in range(100)})
            started = time.perf_counter()
            engine.scores(query, ids)
            scored.append((time.perf_counter() - started) * 1000)
    return {"index_s": round(index_s, 1), "query_ms": percentiles(times),
            "scores_100_ms": percentiles(scored), "disk_mb": dir_size_mb(Path(folder)),
            "rss_mb": proc_memory_mb().get("rss"), "peak_rss_mb": peak_rss_mb(), "top": top}


def compare_engines(texts: Sequence[str], questions: Sequence[str], workdir: Path,
                    engines: Sequence[str] = ENGINES) -> dict[str, Any]:
    """Each engine over the same chunk texts and questions, in its own process."""
    workdir.mkdir(parents=True, exist_ok=True)
    texts_file = workdir / "texts.json"
    texts_file.write_text(json.dumps(list(texts)))
    context = multiprocessing.get_context("spawn")
    results: dict[str, Any] = {"chunks": len(texts), "questions": len(questions)}
    for name in engines:
        pool = context.Pool(1)
        try:
            results[name] = pool.apply(_measure, (name, str(texts_file), str(workdir / name),
                                                  list(questions)))
        finally:
            pool.close()  # let the worker exit, rather than terminate it mid-cleanup
            pool.join()
        shutil.rmtree(workdir / name, ignore_errors=True)
    texts_file.unlink()
    if "fts5" in results:
        for name in engines:
            results[name]["top10_overlap_with_fts5"] = overlap(results[name]["top"],
                                                               results["fts5"]["top"])
    for name in engines:
        del results[name]["top"]
    return results


def overlap(found: list[list[int]], reference: list[list[int]]) -> float:
    shares = [len(set(f) & set(r)) / len(r) for f, r in zip(found, reference, strict=True) if r]
    return round(float(np.mean(shares)), 3) if shares else 0.0


class EngineReader:
    """A loaded generation whose keyword methods go to another engine, so the whole
    search pipeline can be evaluated with it."""

    def __init__(self, inner: Any, engine: Any) -> None:
        self._inner = inner
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def keyword_query(self, text: str, synonyms: bool = True, phrases: str = "pairs") -> Any:
        return self._engine.query(text, synonyms, phrases)

    def keyword(self, query: Any, k: int, allowed: Sequence[int] | None = None) -> Any:
        return self._engine.search(query, k, allowed)

    def keyword_scores(self, query: Any, ids: Sequence[int]) -> dict[int, float]:
        return self._engine.scores(query, ids)


def engine_quality(searcher: Any, workdir: Path, question_file: Path,
                   engines: Sequence[str] = ENGINES, modes: Sequence[str] = ("keyword", "hybrid")
                   ) -> dict[str, Any]:
    """hit@1, hit@5 and MRR@10 per mode with each engine over the evaluation index's
    chunks (title, section and text, as the store indexes them)."""
    from service.evaluation import evaluate, load_questions
    from service.retrieval import Searcher

    generation = searcher.generation
    ids = sorted(generation.chunk_documents(range(1, 10 * generation.chunk_count + 2)))
    rows, titles = generation.chunks(ids), {d.id: d.title for d in generation.documents()}
    chunks = [(i, f"{titles[rows[i].doc_id]} {rows[i].section} {rows[i].text}") for i in ids]
    questions = load_questions(question_file)
    results: dict[str, Any] = {}
    for name in engines:
        engine = build_engine(name, workdir / name, chunks)
        wrapped = Searcher(EngineReader(generation, engine), searcher.embedder,
                           searcher.gazetteer)
        results[name] = {}
        for mode in modes:
            score = evaluate(wrapped, questions, mode)
            results[name][mode] = {"hit@1": round(score.hit1, 3), "hit@5": round(score.hit5, 3),
                                   "mrr@10": round(score.mrr10, 4)}
    return results
