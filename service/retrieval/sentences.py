"""One search's sentence vectors and which sentences could answer: read from the store
once per search, the quotable masks kept across searches."""

from __future__ import annotations

from collections.abc import Callable
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
        self.texts: dict[int, str] = {}  # chunk id -> text, read for the judgements below
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
        return self.judged(ids, None, can_answer)

    def typed(self, ids: list[int], kind: str) -> dict[int, np.ndarray]:
        """For each chunk with stored sentences, which of them hold what a question of
        `kind` asks for (questions.holds_answer: an amount, a date, a body...)."""
        return self.judged(ids, kind, lambda sentence: holds_answer(kind, sentence))

    def judged(self, ids: list[int], label: str | None, test: Callable[[str], bool]
               ) -> dict[int, np.ndarray]:
        """`test` of each stored sentence of the chunks, cached by chunk id (`label`
        None) or by (chunk id, label); a chunk's text is read once per search."""
        stored = self.fetch(ids)
        key: Callable[[int], Any] = (lambda i: i) if label is None else (lambda i: (i, label))
        found = {i: self.masks.fetch(key(i)) for i in stored}
        missing = [i for i, mask in found.items() if mask is None]
        unread = [i for i in missing if i not in self.texts]
        if unread:
            self.texts.update({i: row.text for i, row in self.generation.chunks(unread).items()})
        for i in missing:
            if i in self.texts:
                text = self.texts[i]
                found[i] = np.array([test(text[s:e]) for s, e in stored[i][0]], dtype=bool)
                self.masks.store(key(i), found[i])
        return {i: mask for i, mask in found.items() if mask is not None}


def can_answer(sentence: str) -> bool:
    """A sentence that could be the answer: a statement, or a name line for "who"."""
    return is_statement(sentence) or is_name_line(sentence)
