"""A search, stage by stage: candidates from both retrievers, fusion, the boost towards
the area a question names, optional re-scoring, then cited and highlighted passages."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from service.areas import Gazetteer
from service.embedding import Embedder, sentence_spans
from service.retrieval import budget, fusion
from service.retrieval.budget import Stopwatch
from service.retrieval.candidates import LRU, CandidateRetriever
from service.retrieval.coverage import (
    Calibration,
    Coverage,
    bundled_calibration,
    names_area,
    term_coverage,
    topic_terms,
    verdict,
)
from service.retrieval.doubt import ListSignals, list_signals, typed_passages
from service.retrieval.facets import FacetCounter
from service.retrieval.feedback import expanded_vector
from service.retrieval.filters import Library, nothing_matches
from service.retrieval.options import (
    DEFAULT_MODE,
    MODES,
    Filters,
    InvalidFilter,
    InvalidQuery,
    SearchOptions,
)
from service.retrieval.ordering import (
    PassageKinds,
    RankLibrary,
    apparatus_after_body,
    learned_order,
)
from service.retrieval.paraphrase import paraphrase_options
from service.retrieval.passages import Candidate, SentenceScorer, assemble_passages
from service.retrieval.questions import question_type
from service.retrieval.ranker import LinearRanker, bundled_ranker
from service.retrieval.results import DocumentRef, Hit, SearchResult
from service.retrieval.sentence_scorer import AnswerScorer, bundled_scorer
from service.retrieval.sentence_source import SentenceSource
from service.retrieval.sentences import SENTENCE_CACHE, SentenceMemo
from service.store import ChunkRow, IndexReader, KeywordQuery, Ranked
from service.text import topic_phrase
from service.text.published_dates import parse_published

__all__ = ["DEFAULT_MODE", "MODES", "Filters", "InvalidFilter", "InvalidQuery", "SearchOptions",
           "SearchResult", "Searcher"]
NO_FILTERS = Filters()


@dataclass
class Searcher:
    """Searches one loaded generation. Thread-safe for concurrent requests."""

    generation: IndexReader
    embedder: Embedder
    gazetteer: Gazetteer
    options: SearchOptions = field(default_factory=SearchOptions)
    reranker: Any = None
    query_cache_size: int = 1024
    calibration: Calibration = field(default_factory=bundled_calibration)
    learned: LinearRanker | None = field(default_factory=bundled_ranker)
    answer_model: AnswerScorer | None = field(default_factory=bundled_scorer)  # answer.py
    # when a list: each hybrid search appends (query, chunk ids, feature table) of its
    # ranking window, for scripts/fit_ranker.py
    feature_log: list[tuple[str, list[int], np.ndarray]] | None = None

    def __post_init__(self) -> None:
        self.candidates = CandidateRetriever(self.generation, self.embedder,
                                             self.query_cache_size)
        self._sentences = LRU(SENTENCE_CACHE)
        self._quotable = LRU(SENTENCE_CACHE * 2)  # which sentences could answer (sentences.py)
        self.sentence_source = SentenceSource(self.generation)  # built when first asked
        self.records = self.generation.documents()  # the library page lists them
        self.documents = {d.id: DocumentRef(d.id, d.title, d.area, d.path, d.source_url,
                                            d.published, d.publisher, d.doc_type,
                                            parse_published(d.published))
                          for d in self.records}
        self.areas = sorted({d.area for d in self.documents.values() if d.area})
        kinds = PassageKinds()
        self.ranking = RankLibrary({d.id: d.area for d in self.records},
                                   {d.id: d.chunks for d in self.records}, kinds.of,
                                   kinds.known.fetch)
        self.library = Library(self.documents.values(), self.gazetteer.areas)
        self.facets = FacetCounter(self.library)

    def search(self, query: str, k: int = 5, mode: str = DEFAULT_MODE,
               filters: Filters = NO_FILTERS, options: SearchOptions | None = None,
               highlight: bool = True) -> SearchResult:
        options = options or self.options
        if mode not in MODES:
            raise InvalidQuery(f"mode must be one of {', '.join(MODES)}")
        self.check_filters(filters)
        facets = self.facets.count(filters)
        scope = self.library.scope(filters)
        if scope is None:  # never a silent empty list: say which filter excluded everything
            return SearchResult(query, mode, [], {}, {}, Coverage(
                "not_found", nothing_matches(filters)), facets)
        watch = Stopwatch()
        allowed = self.candidates.allowed_ids(scope)
        interpreted: dict[str, Any] = {}
        area = None if filters.areas else self.gazetteer.detect_query_area(query)
        if area and options.area_boost > 0 and area in self.areas:
            interpreted["area"] = area

        vector = self.candidates.query_vector(query) if mode != "keyword" else None
        if vector is not None:
            watch.lap("embed")
            budget.checkpoint("embedding the query")
        area_filter = Filters(areas=(area,), documents=scope.documents) \
            if "area" in interpreted and area else None
        analysed = self.candidates.keyword_query(query, options) if mode != "dense" else None
        sentences = SentenceMemo(self.generation, self._quotable)
        terms = topic_terms(query, self.gazetteer)
        dense, keyword, fused = self.retrieve(vector, analysed, mode, options, allowed,
                                              area_filter, interpreted, watch, terms)
        if options.feedback_weight and vector is not None and mode.startswith("hybrid"):
            ids = [c.chunk_id for c in fused[:options.feedback_depth]]
            moved = expanded_vector(vector, ids, sentences.fetch(ids), options.feedback_weight)
            if moved is not None:
                dense, keyword, fused = self.retrieve(moved, analysed, mode, options, allowed,
                                                      area_filter, interpreted, watch, terms)
        learned = learned_order(self, query, interpreted.get("area"), fused, dense, keyword,
                                vector, options, sentences) \
            if mode == "hybrid" and options.ranker == "learned" and vector is not None \
            else None
        fused = learned or self.rescore(query, fused, vector, mode, options, watch, sentences)
        if options.apparatus_last:
            fused = apparatus_after_body(self.generation, self.ranking, query, fused,
                                         options.ranker_depth)
        watch.lap("rank")

        if vector is None and highlight:
            vector = self.candidates.query_vector(query)  # keyword mode still highlights
        scorer = self.sentence_scorer(vector, sentences) \
            if highlight and vector is not None else None
        hits = assemble_passages(fused, k, self.generation, self.documents, scorer)
        watch.lap("hydrate")
        if vector is None and any(hit.dense is None for hit in hits):
            vector = self.candidates.query_vector(query)  # keyword mode calibrates too
        lists = (dense, keyword) if mode.startswith("hybrid") else None
        hits, coverage, signals = self.judge(query, terms, hits, vector, area, lists)
        watch.lap("coverage")
        return SearchResult(query, mode, hits, interpreted, watch.timings, coverage, facets,
                            signals)

    def retrieve(self, vector: np.ndarray | None, analysed: KeywordQuery | None, mode: str,
                 options: SearchOptions, allowed: list[int] | None,
                 area_filter: Filters | None, interpreted: dict[str, Any], watch: Stopwatch,
                 terms: set[str]) -> tuple[Ranked, Ranked, list[Candidate]]:
        """Dense, keyword and (when asked) sentence candidates, each scored by every
        source where fusion needs it, fused (`terms`: the question's topic words)."""
        dense: Ranked = []
        if vector is not None:
            dense = self.candidates.dense(vector, options, allowed, area_filter)
            watch.lap("dense")
            budget.checkpoint("the dense search")
        keyword: Ranked = []
        if mode != "dense":
            keyword = self.candidates.keyword(analysed, options.candidates, allowed)
            watch.lap("keyword")
            budget.checkpoint("the keyword search")
        sentence: Ranked = []
        if options.sentence_candidates and mode.startswith("hybrid") and vector is not None:
            sentence = self.sentence_source.search(vector, options.sentence_candidates,
                                                   allowed, options.sentence_index_max)
            watch.lap("sentences")
            budget.checkpoint("the sentence search")
        if options.fusion == "convex" and mode.startswith("hybrid") and vector is not None:
            dense, keyword = self.candidates.complete_scores(analysed, vector, dense, keyword,
                                                             [i for i, _ in sentence])
            if sentence and options.sentence_source_weight:
                sentence = self.sentence_source.complete(sentence, [i for i, _ in dense],
                                                         vector)
        options = paraphrase_options(options, mode, keyword, terms, self.generation)
        fused = fusion.fuse(dense, keyword, options, mode, sentence)
        if "area" in interpreted:
            fused = self.boost_area(fused, interpreted["area"], options)
        watch.lap("fuse")
        budget.checkpoint("fusion")
        return dense, keyword, fused

    def judge(self, query: str, terms: set[str], hits: list[Hit], vector: np.ndarray | None,
              area: str | None, lists: tuple[Ranked, Ranked] | None = None
              ) -> tuple[list[Hit], Coverage, ListSignals | None]:
        """Calibrated relevance for each hit, other-area marks, and the verdict; with the
        dense and keyword lists (hybrid), the result list's signals, which may doubt it.
        `terms`: the question's topic words (coverage.topic_terms)."""
        missing = [i for hit in hits if hit.dense is None for i in hit.chunk_ids]
        cosines = self.generation.similarities(vector, missing) \
            if missing and vector is not None else {}
        judged, in_area, pairs = [], [], []
        for hit in hits:
            dense = hit.dense if hit.dense is not None else \
                max((cosines.get(i, 0.0) for i in hit.chunk_ids), default=0.0)
            pairs.append((dense, term_coverage(terms, hit.text)))
            inside = self.speaks_for(hit, area)
            judged.append(replace(hit, score=self.calibration.relevance(*pairs[-1]),
                                  other_area=bool(area and hit.document.area and not inside)))
            if inside:
                in_area.append(judged[-1].score)
        count = sum(d.area == area for d in self.documents.values()) if area else 0
        topic = topic_phrase(query, self.gazetteer) if count else ""  # only messages use it
        signals = list_signals(
            [h.chunk_ids or (h.chunk_id,) for h in hits], [h.document.id for h in hits],
            [h.sentences[0][1] if h.sentences else None for h in hits], *lists,
            len(terms), typed_passages(query, [(h.text, h.sentences) for h in hits])
        ) if lists is not None else None
        doubtful = self.calibration.doubts([h.score for h in judged],
                                           np.array(pairs).reshape(-1, 2), signals)
        coverage = verdict(max((h.score for h in judged), default=0.0),
                           max(in_area, default=0.0), self.calibration, area, count, topic,
                           mentioned=bool(in_area) and count == 0, doubtful=doubtful)
        return judged, coverage, signals

    def speaks_for(self, hit: Hit, area: str | None) -> bool:
        """The passage counts for the named area: its document is about the area, or the
        passage itself is (see coverage.names_area)."""
        return bool(area) and (hit.document.area == area or
                               names_area(hit.text, hit.section, area or "", self.gazetteer))

    def check_filters(self, filters: Filters) -> None:
        self.library.check(filters)  # InvalidFilter naming the parameter

    def boost_area(self, fused: list[Candidate], area: str, options: SearchOptions
                   ) -> list[Candidate]:
        in_area = {d.id for d in self.documents.values() if d.area == area}
        doc_of = self.generation.chunk_documents([c.chunk_id for c in fused])
        favoured = {chunk for chunk, doc in doc_of.items() if doc in in_area}
        return fusion.boost(fused, favoured, options.area_boost * fusion.fusion_unit(options))

    def rescore(self, query: str, fused: list[Candidate], vector: np.ndarray | None, mode: str,
                options: SearchOptions, watch: Stopwatch,
                sentences: SentenceMemo | None = None) -> list[Candidate]:
        """The optional stages after fusion: sentence weighting in hybrid, and the
        rerank of hybrid+rerank (a cross-encoder when configured, else sentences)."""
        if vector is not None and options.sentence_weight and mode.startswith("hybrid"):
            weight = options.sentence_weight_with_source \
                if self.sentence_source.serves(options) else options.sentence_weight
            fused = self.sentence_rescore(fused, vector, weight, options.rerank_depth,
                                          sentences, options.quotable_sentences,
                                          question_type(query), options.answer_type_bonus)
        if mode == "hybrid+rerank":
            depth = options.rerank_depth
            if self.reranker is not None:
                fused = self.reranker.rerank(query, fused[:depth], self.generation) + \
                    fused[depth:]
            elif vector is not None:
                fused = self.sentence_rescore(fused, vector, options.rerank_weight, depth,
                                              sentences, options.quotable_sentences)
            watch.lap("rerank")
        return fused

    def sentence_rescore(self, fused: list[Candidate], vector: np.ndarray, weight: float,
                         depth: int, sentences: SentenceMemo | None = None,
                         quotable: bool = False, kind: str | None = None, bonus: float = 0.0
                         ) -> list[Candidate]:
        """fusion.sentence_rescore over the top `depth`, `kind` the question's type."""
        memo = sentences or SentenceMemo(self.generation, self._quotable)
        ids = [c.chunk_id for c in fused[:depth]]
        masks = memo.quotable(ids) if quotable else None
        typed = memo.typed(ids, kind) if kind and bonus else None
        return fusion.sentence_rescore(fused, memo.fetch(ids), vector, weight, depth, masks,
                                       typed, bonus)

    def sentence_scorer(self, query_vector: np.ndarray, sentences: SentenceMemo | None = None
                        ) -> SentenceScorer:
        """Score every sentence of the given chunks against the query: stored sentence
        vectors when the index has them, else embed the sentences (cached per chunk)."""
        memo = sentences or SentenceMemo(self.generation)

        def score(rows: list[ChunkRow]) -> dict[int, list[tuple[tuple[int, int], float]]]:
            stored = memo.fetch([r.id for r in rows])
            result = {}
            for row in rows:
                spans, vectors = stored.get(row.id) or self.embedded_sentences(row)
                similarities = vectors @ query_vector if len(spans) else np.zeros(0)
                result[row.id] = [((int(span[0]), int(span[1])), float(value))
                                  for span, value in zip(spans, similarities, strict=True)]
            return result

        return score

    def embedded_sentences(self, row: ChunkRow) -> tuple[list[tuple[int, int]], np.ndarray]:
        """For an index built without sentence vectors: embed them now, once per chunk."""
        cached = self._sentences.fetch(row.id)
        if cached is None:
            spans = sentence_spans(row.text)
            cached = (spans, self.embedder.embed_documents([row.text[s:e] for s, e in spans]))
            self._sentences.store(row.id, cached)
        return cached
