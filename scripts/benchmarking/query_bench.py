"""In-process query latency per stage (the Searcher's own timings), cold and warm."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarking.measure import percentiles
from service.areas import Gazetteer
from service.embedding import Embedder
from service.retrieval import Filters, Searcher, SearchOptions
from service.store import open_store

STAGES = ("embed", "dense", "keyword", "fuse", "rerank", "hydrate")


def load_questions(paths: Sequence[Path]) -> list[str]:
    questions: list[str] = []
    for path in paths:
        if path.exists():
            questions += [json.loads(line)["question"]
                          for line in path.read_text(encoding="utf-8").splitlines()
                          if line.strip()]
    return questions


def unique_variants(questions: Sequence[str], count: int, seed: int = 0,
                    skip: int = 0) -> list[str]:
    """`count` distinct queries shaped like the real ones (a word dropped, two words
    swapped, or a word repeated), so every one misses the query-embedding cache."""
    rng = random.Random(seed)
    seen = set(questions)
    out: list[str] = []
    while len(out) < count + skip:
        words = rng.choice(questions).split()
        i = rng.randrange(len(words))
        action = rng.random()
        if action < 0.4 and len(words) > 3:
            del words[i]
        elif action < 0.8 and len(words) > 2:
            j = rng.randrange(len(words))
            words[i], words[j] = words[j], words[i]
        else:
            words.insert(i, words[i])
        variant = " ".join(words)
        if variant not in seen:
            seen.add(variant)
            out.append(variant)
    return out[skip:]


def searcher_for(index_dir: Path, embedder: Embedder) -> Searcher:
    store = open_store(index_dir)
    current = store.current()
    if current is None:
        raise FileNotFoundError(f"no index generation in {index_dir}")
    return Searcher(store.open(current), embedder, Gazetteer.load())


def run_queries(searcher: Searcher, queries: Sequence[str], mode: str = "hybrid",
                highlight: bool = True, k: int = 5, options: SearchOptions | None = None,
                filters: Filters | None = None) -> dict[str, Any]:
    per_stage: dict[str, list[float]] = {stage: [] for stage in STAGES}
    totals = []
    for query in queries:
        started = time.perf_counter()
        result = searcher.search(query, k=k, mode=mode, highlight=highlight, options=options,
                                 filters=filters or Filters())
        totals.append((time.perf_counter() - started) * 1000)
        for stage, value in result.timings.items():
            per_stage.setdefault(stage, []).append(value)
    stages = {stage: percentiles(values) if values else "n/a"
              for stage, values in per_stage.items()}
    return {"queries": len(queries), "total": percentiles(totals), "stages": stages}


def query_breakdown(index_dir: Path, embedder: Embedder, questions: Sequence[str],
                    cold_count: int, warm_rounds: int = 3) -> dict[str, Any]:
    """Cold: unique queries on a fresh searcher (every cache misses). Warm: the same
    questions again, so query vectors and highlight sentences come from the caches."""
    embedder.embed_query("warm up")
    cold_queries = unique_variants(questions, cold_count, seed=11)
    searcher = searcher_for(index_dir, embedder)
    results: dict[str, Any] = {"chunks": searcher.generation.chunk_count}
    results["cold"] = run_queries(searcher, cold_queries)
    results["cold_no_highlight"] = run_queries(
        searcher_for(index_dir, embedder), unique_variants(questions, cold_count, seed=12),
        highlight=False)
    warm = list(questions)
    run_queries(searcher, warm)  # fill the caches
    results["warm"] = run_queries(searcher, warm * warm_rounds)
    results["warm_keyword_mode"] = run_queries(searcher, warm, mode="keyword")
    run_queries(searcher, warm, mode="hybrid+rerank")  # its caches too
    results["warm_rerank"] = run_queries(searcher, warm, mode="hybrid+rerank")
    results["cold_rerank"] = run_queries(
        searcher_for(index_dir, embedder), unique_variants(questions, cold_count, seed=13),
        mode="hybrid+rerank")
    results["reranker"] = searcher.reranker is not None
    return results
