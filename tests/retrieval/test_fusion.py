"""Sentence re-scoring after fusion: a passage rises by its best sentence, and only by a
sentence that could answer (a statement or a name line)."""

from __future__ import annotations

import numpy as np
import pytest

from service.retrieval.fusion import best_sentence, sentence_rescore
from service.retrieval.options import CHOICES, SearchOptions
from service.retrieval.passages import Candidate
from service.retrieval.sentences import can_answer

QUERY = np.array([1.0, 0.0], dtype=np.float32)


def sentences(*similarities: float) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Unit vectors whose similarity to QUERY is each value given."""
    vectors = np.array([[s, np.sqrt(1 - s * s)] for s in similarities], dtype=np.float32)
    return [(i, i + 1) for i in range(len(similarities))], vectors


def test_the_best_sentence_lifts_its_passage() -> None:
    fused = [Candidate(1, 1.0), Candidate(2, 0.9)]
    stored = {1: sentences(0.2, 0.3), 2: sentences(0.9)}
    rescored = sentence_rescore(fused, stored, QUERY, 0.5, 30)
    assert [c.chunk_id for c in rescored] == [2, 1]
    assert [c.score for c in rescored] == pytest.approx([0.9 + 0.45, 1.0 + 0.15])


def test_only_quotable_sentences_count_when_a_mask_is_given() -> None:
    # chunk 1 is a title page: its one line is close to the question but cannot answer it
    fused = [Candidate(1, 1.0), Candidate(2, 0.9)]
    stored = {1: sentences(0.95), 2: sentences(0.1, 0.6)}
    quotable = {1: np.array([False]), 2: np.array([True, True])}
    unmasked = sentence_rescore(fused, stored, QUERY, 0.5, 30)
    masked = sentence_rescore(fused, stored, QUERY, 0.5, 30, quotable)
    assert [c.chunk_id for c in unmasked] == [1, 2]
    assert [c.chunk_id for c in masked] == [2, 1]
    assert [c.score for c in masked] == pytest.approx([0.9 + 0.3, 1.0])


def test_best_sentence_of_nothing_is_zero() -> None:
    assert best_sentence(None, QUERY, None) == 0.0
    assert best_sentence(sentences(0.5), QUERY, np.array([False])) == 0.0
    assert best_sentence(sentences(0.5, 0.7), QUERY, np.array([True, False])) == \
        pytest.approx(0.5)


@pytest.mark.parametrize("sentence, answers", [
    ("Individual funding requests policy", False),  # a title page
    ("24 Urgent decisions for individual funding requests ........................ 26", False),
    ("4. Heerspink HJL, Stefansson BV, Correa-Rotter R, Chertow GM, Greene T, Hou FF.", False),
    ("There is no allocated separate budget for individual funding requests.", True),
    ("From Halima Rashid, Programme Director", True),  # a name line answers "who"
])
def test_what_can_answer(sentence: str, answers: bool) -> None:
    assert can_answer(sentence) is answers


@pytest.mark.parametrize("choice", sorted(CHOICES))
def test_a_misspelt_choice_is_refused_by_name(choice: str) -> None:
    """An option naming one of several ways (fusion, ranker, answer scorer...) refuses a
    value it does not know, instead of quietly taking another path."""
    for allowed in CHOICES[choice]:
        assert getattr(SearchOptions(**{choice: allowed}), choice) == allowed
    with pytest.raises(ValueError, match=f"SearchOptions.{choice} must be one of"):
        SearchOptions(**{choice: "lerned"})
