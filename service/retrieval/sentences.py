"""One search's sentence vectors and which sentences could answer: read from the store
once per search, the quotable masks kept across searches."""

from __future__ import annotations

from typing import Any

import numpy as np

from service.retrieval.candidates import LRU
from service.retrieval.questions import holds_answer
from service.retrieval.quotable import is_name_line, is_statement
from service.store import IndexReader
from service.store.records import SentenceVectors

SENTENCE_CACHE = 4096  # chunks whose sentences were embedded at query time


class SentenceMemo:
    """One search's stored sentence vectors: rescoring and highlighting ask for mostly the
    same chunks, and each asks the store only for the ones not fetched yet."""

    def __init__(self, generation: IndexReader, masks: LRU | None = None) -> None:
        self.generation = generation
        self.known: dict[int, Any] = {}  # chunk id -> (spans, vectors), or None if absent
        # chunk id -> its quotable sentences, and (chunk id, question type) -> those that
        # hold that type: a chunk's text never changes within a generation, so the
        # searcher keeps them across searches (judging them costs about as much as the
        # rest of the search's re-scoring)
        self.masks = masks if masks is not None else LRU(SENTENCE_CACHE)

    def fetch(self, ids: list[int]) -> SentenceVectors:
        missing = [i for i in ids if i not in self.known]
        if missing:
            found = self.generation.sentence_vectors(missing)
            self.known.update({i: found.get(i) for i in missing})
        return {i: self.known[i] for i in ids if self.known[i] is not None}

    def quotable(self, ids: list[int]) -> dict[int, np.ndarray]:
        """For each chunk with stored sentences, which of them are statements or name
        lines (quotable.py), the sentences an answer could quote."""
        stored = self.fetch(ids)
        found = {i: self.masks.fetch(i) for i in stored}
        missing = [i for i, mask in found.items() if mask is None]
        rows = self.generation.chunks(missing) if missing else {}
        for i, row in rows.items():
            found[i] = np.array([can_answer(row.text[s:e]) for s, e in stored[i][0]],
                                dtype=bool)
            self.masks.store(i, found[i])
        return {i: mask for i, mask in found.items() if mask is not None}

    def typed(self, ids: list[int], kind: str) -> dict[int, np.ndarray]:
        """For each chunk with stored sentences, which of them hold what a question of
        `kind` asks for (questions.holds_answer: an amount, a date, a body...)."""
        stored = self.fetch(ids)
        found = {i: self.masks.fetch((i, kind)) for i in stored}
        missing = [i for i, mask in found.items() if mask is None]
        rows = self.generation.chunks(missing) if missing else {}
        for i, row in rows.items():
            found[i] = np.array([holds_answer(kind, row.text[s:e]) for s, e in stored[i][0]],
                                dtype=bool)
            self.masks.store((i, kind), found[i])
        return {i: mask for i, mask in found.items() if mask is not None}


def can_answer(sentence: str) -> bool:
    """A sentence that could be the answer: a statement, or a name line for "who"."""
    return is_statement(sentence) or is_name_line(sentence)
