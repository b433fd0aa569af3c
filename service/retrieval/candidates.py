"""Candidate retrieval from one generation: the query's vector (cached), dense and
keyword candidates, the chunks a filter allows (cached), and the scores each retriever
gives the other's candidates."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from service.embedding import Embedder
from service.retrieval.fusion import merge_ranked
from service.retrieval.options import Filters, InvalidQuery, SearchOptions
from service.store import IndexReader, InvalidKeywordQuery, KeywordQuery, Ranked

FILTER_CACHE = 64


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


class CandidateRetriever:
    """Thread-safe for concurrent requests: the caches only ever gain whole entries."""

    def __init__(self, generation: IndexReader, embedder: Embedder,
                 query_cache_size: int = 1024) -> None:
        self.generation = generation
        self.embedder = embedder
        self._queries = LRU(query_cache_size)
        self._allowed = LRU(FILTER_CACHE)

    def query_vector(self, query: str) -> np.ndarray:
        key = " ".join(query.lower().split())
        vector = self._queries.fetch(key)
        if vector is None:
            vector = self.embedder.embed_query(query)
            self._queries.store(key, vector)
        return vector

    def allowed_ids(self, filters: Filters) -> list[int] | None:
        """The chunk ids a filter allows; None when there is no filter."""
        if not filters:
            return None
        cached = self._allowed.fetch(filters)
        if cached is None:
            cached = self.generation.chunk_ids_for(filters.areas, filters.documents) or []
            self._allowed.store(filters, cached)
        return list(cached)

    def dense(self, vector: np.ndarray, options: SearchOptions, allowed: list[int] | None,
              area_filter: Filters | None = None) -> Ranked:
        """Dense candidates, plus the best few from the named area's own documents."""
        dense = self.generation.dense(vector, options.candidates, allowed)
        if area_filter is not None:
            extra = self.generation.dense(vector, options.area_candidates,
                                          self.allowed_ids(area_filter))
            dense = merge_ranked(dense, extra)
        return dense

    def keyword_query(self, query: str, options: SearchOptions) -> KeywordQuery | None:
        return self.generation.keyword_query(query, options.synonyms, options.phrases)

    def keyword(self, analysed: KeywordQuery | None, k: int,
                allowed: Sequence[int] | None) -> Ranked:
        if analysed is None:
            return []
        try:
            return self.generation.keyword(analysed, k, allowed)
        except InvalidKeywordQuery as error:
            raise InvalidQuery(f"could not parse the query for keyword search: {error}") \
                from None

    def complete_scores(self, analysed: KeywordQuery | None, vector: np.ndarray,
                        dense: Ranked, keyword: Ranked, others: Sequence[int] = ()
                        ) -> tuple[Ranked, Ranked]:
        """Give every candidate (of either list, or `others`: another source's) both
        scores, so convex fusion never treats "not in the other list" as a zero it never
        measured."""
        dense_ids, keyword_ids = {i for i, _ in dense}, {i for i, _ in keyword}
        every = dense_ids | keyword_ids | set(others)
        extra_dense = self.generation.similarities(vector, sorted(every - dense_ids))
        only_dense = sorted(every - keyword_ids)
        extra_keyword = self.generation.keyword_scores(analysed, only_dense) \
            if analysed is not None else {i: 0.0 for i in only_dense}
        dense = dense + sorted(extra_dense.items(), key=lambda p: -p[1])
        keyword = keyword + sorted(extra_keyword.items(), key=lambda p: -p[1])
        return dense, keyword
