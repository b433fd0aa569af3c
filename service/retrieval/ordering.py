"""The order of the fused window after fusion: the learned ranker's (when chosen), and
apparatus after body text (always, unless turned off). Kept apart from search.py, which
runs the stages, so that each stays readable."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from service.areas import Gazetteer
from service.retrieval.candidates import LRU
from service.retrieval.coverage import topic_terms
from service.retrieval.features import FEATURES, candidate_features
from service.retrieval.features import Library as RankLibrary
from service.retrieval.features import Question as RankedQuestion
from service.retrieval.options import SearchOptions
from service.retrieval.passages import Candidate
from service.retrieval.ranker import LinearRanker, apparatus_last, reorder
from service.retrieval.sentences import SENTENCE_CACHE, SentenceMemo
from service.store import ChunkRow, IndexReader, Ranked
from service.text.kinds import BODY, kinds_asked_for, passage_kind

__all__ = ["APPARATUS", "RankLibrary", "apparatus_after_body", "learned_order"]
APPARATUS = [FEATURES.index(name) for name in ("references", "contents", "glossary")]


class Ranking(Protocol):
    """What the learned order reads of the searcher (search.Searcher)."""

    gazetteer: Gazetteer
    generation: IndexReader
    ranking: RankLibrary
    learned: LinearRanker | None
    feature_log: list[tuple[str, list[int], np.ndarray]] | None


def learned_order(searcher: Ranking, query: str, area: str | None, fused: list[Candidate],
                  dense: Ranked, keyword: Ranked, vector: np.ndarray, options: SearchOptions,
                  sentences: SentenceMemo) -> list[Candidate] | None:
    """The fused window re-ordered by the searcher's learned ranker (ranker.py), the rest
    after it; None when no model is loaded (the features are still logged for fitting)."""
    window = fused[:options.ranker_depth]
    ids = [c.chunk_id for c in window]
    question = RankedQuestion(topic_terms(query, searcher.gazetteer), area,
                              kinds_asked_for(query))
    table = candidate_features(question, window, dict(dense), dict(keyword),
                               searcher.generation.chunks(ids), sentences.fetch(ids),
                               sentences.quotable(ids), vector, searcher.ranking)
    if searcher.feature_log is not None:
        searcher.feature_log.append((query, ids, table))
    if searcher.learned is None:
        return None
    apparatus = [bool(row.any()) for row in table[:, APPARATUS] > 0]
    return reorder(window, searcher.learned.score(table), apparatus) + fused[len(window):]


def apparatus_after_body(generation: IndexReader, ranking: RankLibrary, query: str,
                         fused: list[Candidate], depth: int) -> list[Candidate]:
    """A bibliography repeats every topic word; unless asked for, it (and a contents page
    or glossary) follows the body passages of the top window."""
    window = fused[:depth]
    kinds = {c.chunk_id: ranking.known_kind(c.chunk_id) for c in window}
    missing = [chunk for chunk, kind in kinds.items() if kind is None]
    if missing:  # read only the chunks whose kind is not cached yet
        kinds.update({chunk: ranking.kind_of(row)
                      for chunk, row in generation.chunks(missing).items()})
    wanted = {BODY} | kinds_asked_for(query)
    flags = [kinds[c.chunk_id] not in wanted and kinds[c.chunk_id] is not None
             for c in window]
    return apparatus_last(window, flags) + fused[depth:] if any(flags) else fused


class PassageKinds:
    """Each chunk's passage kind (text/kinds.py), judged once: a chunk's text never
    changes within a generation."""

    def __init__(self) -> None:
        self.known = LRU(SENTENCE_CACHE * 4)

    def of(self, row: ChunkRow) -> str:
        found = self.known.fetch(row.id)
        if found is None:
            found = passage_kind(row.text, row.section)
            self.known.store(row.id, found)
        return str(found)
