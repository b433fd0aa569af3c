"""Fusing ranked lists and re-scoring candidates: pure functions of their inputs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from service.retrieval.options import SearchOptions
from service.retrieval.passages import Candidate
from service.store import Ranked
from service.store.records import SentenceVectors


def merge_ranked(first: Ranked, second: Ranked) -> Ranked:
    """One list, best first, keeping the first list's entry for an id in both."""
    seen = {i for i, _ in first}
    merged = first + [(i, s) for i, s in second if i not in seen]
    return sorted(merged, key=lambda pair: -pair[1])


def fusion_unit(options: SearchOptions) -> float:
    """The best score fusion can give (rank 1 in both lists), the unit boosts use."""
    if options.fusion == "rrf":
        return (options.dense_weight + options.keyword_weight) / (options.rrf_k + 1)
    return 1.0


def fuse(dense: Ranked, keyword: Ranked, options: SearchOptions, mode: str,
         sentence: Ranked | None = None) -> list[Candidate]:
    """Convex combination of normalised scores by default (`options.fusion`), or
    reciprocal-rank fusion; `sentence` (best sentence similarities, hybrid only) adds
    `options.sentence_source_weight` times its raw value, or that weight over its rank."""
    scores: dict[int, float] = {}
    weight = options.sentence_source_weight
    for rank, (chunk_id, value) in enumerate(sentence or [], start=1):
        scores[chunk_id] = weight * (value if options.fusion == "convex"
                                     else 1 / (options.rrf_k + rank))
    if mode == "dense":
        keyword = []
    if mode == "keyword":
        dense = []
    if options.fusion == "convex":
        for weight, ranked in ((options.convex_alpha, dense), (1 - options.convex_alpha, keyword)):
            if not ranked:
                continue
            values = np.array([s for _, s in ranked])
            # keyword scores start at 0 (no term matched); dense ones at the weakest
            # candidate, or at 0 when cosines are taken as they are ("raw")
            low = 0.0 if ranked is keyword or options.dense_norm == "raw" else values.min()
            span = max(values.max() - low, 1e-9)
            if ranked is dense and options.dense_norm == "raw":
                span = 1.0
            for (chunk_id, value) in ranked:
                scores[chunk_id] = scores.get(chunk_id, 0.0) + weight * (value - low) / span
    else:
        for weight, ranked in ((options.dense_weight, dense), (options.keyword_weight, keyword)):
            for rank, (chunk_id, _) in enumerate(ranked, start=1):
                scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (options.rrf_k + rank)
    dense_score = dict(dense)
    return sorted((Candidate(i, s, dense_score.get(i)) for i, s in scores.items()),
                  key=lambda c: -c.score)


def boost(fused: list[Candidate], favoured: set[int], bonus: float) -> list[Candidate]:
    """Add `bonus` to the favoured chunks (those from the area a question names)."""
    boosted = [replace(c, score=c.score + bonus) if c.chunk_id in favoured else c
               for c in fused]
    return sorted(boosted, key=lambda c: -c.score)


def sentence_rescore(fused: list[Candidate], stored: SentenceVectors, vector: np.ndarray,
                     weight: float, depth: int,
                     quotable: dict[int, np.ndarray] | None = None,
                     typed: dict[int, np.ndarray] | None = None, bonus: float = 0.0
                     ) -> list[Candidate]:
    """Re-score the top candidates by their best sentence's similarity to the query. A
    fact usually sits in one sentence, which a whole-passage vector blurs. With
    `quotable` (chunk id -> which of its sentences are statements), only those count;
    with `typed` (which hold what the question asks for), those count `bonus` more."""
    if not stored:
        return fused
    top = fused[:depth]
    scale = max(c.score for c in top) if top else 1.0
    rescored = []
    for candidate in top:
        best = best_sentence(stored.get(candidate.chunk_id), vector,
                             None if quotable is None else quotable.get(candidate.chunk_id),
                             None if typed is None else typed.get(candidate.chunk_id), bonus)
        rescored.append(replace(candidate, score=candidate.score / scale + weight * best))
    rescored.sort(key=lambda c: -c.score)
    return rescored + fused[depth:]


def best_sentence(sentences: tuple[object, np.ndarray] | None, vector: np.ndarray,
                  mask: np.ndarray | None, typed: np.ndarray | None = None,
                  bonus: float = 0.0) -> float:
    """The highest similarity among the chunk's sentences (those `mask` keeps), plus
    `bonus` for a sentence `typed` marks; 0 when none is left."""
    if sentences is None:
        return 0.0
    similarities = sentences[1] @ vector if len(sentences[1]) else np.zeros(0)
    if typed is not None and len(typed) == len(similarities):
        similarities = similarities + bonus * typed
    if mask is not None and len(mask) == len(similarities):
        similarities = similarities[mask]
    return float(np.max(similarities)) if len(similarities) else 0.0
