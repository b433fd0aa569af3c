"""Retrieval: dense (FAISS) and keyword (FTS5 BM25) candidates, fused, boosted towards
the area a question names, tidied into passages and highlighted."""

from __future__ import annotations

import sqlite3
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from service.areas import Gazetteer
from service.embedding.models import Embedder
from service.store.keywords import keyword_query
from service.embedding.sentences import sentence_spans
from service.retrieval.passages import Candidate, SentenceScorer, assemble_passages
from service.retrieval.results import DocumentRef, SearchResult
from service.store.sqlite import ChunkRow, IndexGeneration

MODES = ("dense", "keyword", "hybrid", "hybrid+rerank")
DEFAULT_MODE = "hybrid"


class InvalidQuery(Exception):
    """A request the caller must fix; the message says how."""

    code = "invalid_query"


class InvalidFilter(InvalidQuery):
    """A filter names an area or document that is not in the index."""

    code = "invalid_filter"


@dataclass(frozen=True)
class SearchOptions:
    # convex fusion of min-max normalised scores, with both scores measured for every
    # candidate, beat reciprocal-rank fusion on both evaluation sets (BENCHMARKS.md)
    fusion: str = "convex"  # or "rrf"
    rrf_k: int = 60
    candidates: int = 50  # from each retriever
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    convex_alpha: float = 0.7  # dense share in convex fusion
    # cosines are comparable across queries as they are; min-max stretching magnified
    # noise when every candidate was about as similar (measured: BENCHMARKS.md)
    dense_norm: str = "raw"  # or "minmax"
    area_boost: float = 0.2  # share of the best possible fused score; 0 turns it off
    area_candidates: int = 20  # extra dense candidates drawn from the named area
    synonyms: bool = True  # keyword search also looks for other phrasings (A&E, RTT...)
    phrases: str = "pairs"  # keyword phrases: "pairs" of neighbouring words, "names", "none"
    sentence_weight: float = 0.0  # in hybrid: weight of the best sentence's similarity
    rerank_depth: int = 30  # candidates the rerank stage re-scores
    rerank_weight: float = 1.0  # hybrid+rerank without a cross-encoder: sentence weight


@dataclass(frozen=True)
class Filters:
    areas: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.areas or self.documents)


class LRU(OrderedDict[Any, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def fetch(self, key: Any) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        return None

    def store(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


@dataclass
class Searcher:
    """Searches one loaded generation. Thread-safe for concurrent requests."""

    generation: IndexGeneration
    embedder: Embedder
    gazetteer: Gazetteer
    options: SearchOptions = field(default_factory=SearchOptions)
    reranker: Any = None
    query_cache_size: int = 1024

    def __post_init__(self) -> None:
        self._queries = LRU(self.query_cache_size)
        self._sentences = LRU(4096)
        self.documents = {d["id"]: DocumentRef(d["id"], d["title"], d["area"], d["path"],
                                               d["source_url"])
                          for d in self.generation.documents()}
        self.areas = sorted({d.area for d in self.documents.values() if d.area})
        self._allowed: LRU = LRU(64)

    # --- the public entry point -------------------------------------------------------
    def search(self, query: str, k: int = 5, mode: str = DEFAULT_MODE,
               filters: Filters = Filters(), options: SearchOptions | None = None,
               highlight: bool = True) -> SearchResult:
        options = options or self.options
        if mode not in MODES:
            raise InvalidQuery(f"mode must be one of {', '.join(MODES)}")
        self.check_filters(filters)
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        allowed = self.allowed_ids(filters)
        interpreted: dict[str, Any] = {}
        area = None if filters.areas else self.gazetteer.detect_query_area(query)
        if area and options.area_boost > 0 and area in self.areas:
            interpreted["area"] = area

        vector = None
        dense: list[tuple[int, float]] = []
        if mode != "keyword":
            vector = self.query_vector(query)
            timings["embed"] = ms_since(clock)
            clock = time.perf_counter()
            dense = self.generation.dense(vector, options.candidates, allowed)
            if "area" in interpreted:
                in_area = self.allowed_ids(Filters(areas=(area,), documents=filters.documents))
                extra = self.generation.dense(vector, options.area_candidates, in_area)
                dense = merge_ranked(dense, extra)
            timings["dense"] = ms_since(clock)
            clock = time.perf_counter()
        keyword: list[tuple[int, float]] = []
        if mode != "dense":
            keyword = self.keyword(query, options.candidates, allowed, options)
            timings["keyword"] = ms_since(clock)
            clock = time.perf_counter()

        if options.fusion == "convex" and mode.startswith("hybrid") and vector is not None:
            dense, keyword = self.complete_scores(query, vector, dense, keyword, options)
        fused = fuse(dense, keyword, options, mode)
        if "area" in interpreted:
            fused = self.boost_area(fused, interpreted["area"], options)
        timings["fuse"] = ms_since(clock)
        clock = time.perf_counter()
        if vector is not None and options.sentence_weight and mode.startswith("hybrid"):
            fused = self.sentence_rerank(fused, vector, options.sentence_weight,
                                         options.rerank_depth)
        if mode == "hybrid+rerank":
            depth = options.rerank_depth
            if self.reranker is not None:  # a cross-encoder, when one is configured
                fused = self.reranker.rerank(query, fused[:depth], self.generation) + fused[depth:]
            elif vector is not None:
                fused = self.sentence_rerank(fused, vector, options.rerank_weight, depth)
            timings["rerank"] = ms_since(clock)
            clock = time.perf_counter()

        if vector is None and highlight:
            vector = self.query_vector(query)  # keyword mode still highlights by meaning
        scorer = self.sentence_scorer(vector) if highlight and vector is not None else None
        hits = assemble_passages(fused, k, self.generation, self.documents, scorer)
        timings["hydrate"] = ms_since(clock)
        return SearchResult(query, mode, hits, interpreted, timings)

    # --- pieces ---------------------------------------------------------------------
    def check_filters(self, filters: Filters) -> None:
        unknown_areas = [a for a in filters.areas if a not in self.areas]
        if unknown_areas:
            raise InvalidFilter(f"unknown area filter {unknown_areas[0]!r}; indexed areas: "
                               f"{', '.join(self.areas) or 'none'}")
        unknown_docs = [d for d in filters.documents if d not in self.documents]
        if unknown_docs:
            raise InvalidFilter(f"unknown document filter {unknown_docs[0]!r}; see /api/documents "
                               "for document ids")

    def allowed_ids(self, filters: Filters) -> list[int] | None:
        if not filters:
            return None
        cached = self._allowed.fetch(filters)
        if cached is None:
            ids = set(self.generation.chunk_ids_for("area", filters.areas)) if filters.areas \
                else None
            if filters.documents:
                by_doc = set(self.generation.chunk_ids_for("id", filters.documents))
                ids = by_doc if ids is None else ids & by_doc
            cached = sorted(ids or ())
            self._allowed.store(filters, cached)
        return list(cached)

    def query_vector(self, query: str) -> np.ndarray:
        key = " ".join(query.lower().split())
        vector = self._queries.fetch(key)
        if vector is None:
            vector = self.embedder.embed_query(query)
            self._queries.store(key, vector)
        return vector

    def keyword(self, query: str, limit: int, allowed: Sequence[int] | None,
                options: SearchOptions | None = None) -> list[tuple[int, float]]:
        options = options or self.options
        match = keyword_query(query, options.synonyms, options.phrases)
        if match is None:
            return []
        fetch = limit if allowed is None else max(limit * 10, 500)
        with self.generation.db() as conn:
            try:
                rows = conn.execute("SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? "
                                    "ORDER BY rank LIMIT ?", (match, fetch)).fetchall()
            except sqlite3.OperationalError as error:
                raise InvalidQuery(f"could not parse the query for keyword search: {error}") \
                    from None
        permitted = set(allowed) if allowed is not None else None
        results = [(int(r[0]), -float(r[1])) for r in rows
                   if permitted is None or r[0] in permitted]
        return results[:limit]

    def complete_scores(self, query: str, vector: np.ndarray, dense: list[tuple[int, float]],
                        keyword: list[tuple[int, float]], options: SearchOptions
                        ) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        """Give every candidate both scores, so convex fusion never treats "not in the
        other list" as a zero it never measured."""
        dense_ids, keyword_ids = {i for i, _ in dense}, {i for i, _ in keyword}
        extra_dense = self.generation.similarities(vector, sorted(keyword_ids - dense_ids))
        extra_keyword = self.keyword_scores(query, sorted(dense_ids - keyword_ids), options)
        dense = dense + sorted(extra_dense.items(), key=lambda p: -p[1])
        keyword = keyword + sorted(extra_keyword.items(), key=lambda p: -p[1])
        return dense, keyword

    def keyword_scores(self, query: str, ids: Sequence[int], options: SearchOptions
                       ) -> dict[int, float]:
        """BM25 of chosen chunks; chunks that match no query term score 0."""
        match = keyword_query(query, options.synonyms, options.phrases)
        if match is None or not ids:
            return {i: 0.0 for i in ids}
        marks = ",".join("?" * len(ids))
        with self.generation.db() as conn:
            rows = conn.execute(f"SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? "
                                f"AND rowid IN ({marks})", [match, *ids]).fetchall()
        scores = {i: 0.0 for i in ids}
        scores.update({int(r[0]): -float(r[1]) for r in rows})
        return scores

    def sentence_rerank(self, fused: list[Candidate], vector: np.ndarray, weight: float,
                        depth: int) -> list[Candidate]:
        """Re-score the top candidates by their best sentence's similarity to the query,
        from sentence vectors stored at build time. A fact usually sits in one sentence,
        which a whole-passage vector blurs."""
        top = fused[:depth]
        stored = self.generation.sentence_vectors([c.chunk_id for c in top])
        if not stored:
            return fused
        scale = max(c.score for c in top) if top else 1.0
        rescored = []
        for candidate in top:
            best = 0.0
            if candidate.chunk_id in stored:
                _, vectors = stored[candidate.chunk_id]
                if len(vectors):
                    best = float(np.max(vectors @ vector))
            rescored.append(replace(candidate, score=candidate.score / scale + weight * best))
        rescored.sort(key=lambda c: -c.score)
        return rescored + fused[depth:]

    def boost_area(self, fused: list[Candidate], area: str, options: SearchOptions
                   ) -> list[Candidate]:
        in_area = {d.id for d in self.documents.values() if d.area == area}
        doc_of = self.generation.chunk_documents([c.chunk_id for c in fused])
        bonus = options.area_boost * fusion_unit(options)
        boosted = [replace(c, score=c.score + bonus) if doc_of.get(c.chunk_id) in in_area else c
                   for c in fused]
        return sorted(boosted, key=lambda c: -c.score)

    def sentence_scorer(self, query_vector: np.ndarray) -> SentenceScorer:
        """Score every sentence of the given chunks against the query: stored sentence
        vectors when the index has them, else embed the sentences (cached per chunk)."""

        def score(rows: list[ChunkRow]) -> dict[int, list[tuple[tuple[int, int], float]]]:
            stored = self.generation.sentence_vectors([r.id for r in rows])
            result = {}
            for row in rows:
                if row.id in stored:
                    spans, vectors = stored[row.id]
                else:
                    cached = self._sentences.fetch(row.id)
                    if cached is None:
                        spans = sentence_spans(row.text)
                        vectors = self.embedder.embed_documents([row.text[s:e] for s, e in spans])
                        cached = (spans, vectors)
                        self._sentences.store(row.id, cached)
                    spans, vectors = cached
                similarities = vectors @ query_vector if len(spans) else np.zeros(0)
                result[row.id] = [(tuple(span), float(value))
                                  for span, value in zip(spans, similarities, strict=True)]
            return result

        return score


def ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


def merge_ranked(first: list[tuple[int, float]], second: list[tuple[int, float]]
                 ) -> list[tuple[int, float]]:
    seen = {i for i, _ in first}
    merged = first + [(i, s) for i, s in second if i not in seen]
    return sorted(merged, key=lambda pair: -pair[1])


def fusion_unit(options: SearchOptions) -> float:
    """The best score fusion can give (rank 1 in both lists), the unit boosts use."""
    if options.fusion == "rrf":
        return (options.dense_weight + options.keyword_weight) / (options.rrf_k + 1)
    return 1.0


def fuse(dense: list[tuple[int, float]], keyword: list[tuple[int, float]],
         options: SearchOptions, mode: str) -> list[Candidate]:
    """Reciprocal-rank fusion by default; convex combination of min-max scores optional."""
    scores: dict[int, float] = {}
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
