"""The answer type in the ranking: among passages about a question's topic, the one whose
sentence holds what the question asks for (a number for "how many", a date for "when")
counts that sentence's similarity plus answer_type_bonus."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from corpus_support import built_generation

from service.areas import Gazetteer
from service.retrieval import fusion
from service.retrieval.passages import Candidate
from service.retrieval.search import Searcher, SearchOptions
from service.retrieval.sentences import SentenceMemo

# two parts of a funding policy: one repeats the question's words and says no number,
# the other answers it with one
OVERVIEW = (
    "Individual funding requests\n\n"
    "Clinicians can make an individual funding request on behalf of a patient. The "
    "panel considers each individual funding request carefully, and the time a "
    "decision takes matters to patients waiting for a decision on their request.\n"
)
TIMESCALES = (
    "Panel timescales\n\n"
    "The panel must reach its view within 30 working days of receiving the "
    "complete application, and it writes to the clinician with the outcome.\n"
)
QUESTION = "how many days does a decision on an individual funding request take"


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory, embedder) -> Searcher:  # type: ignore[no-untyped-def]
    generation = built_generation(tmp_path_factory.mktemp("answer-type"), embedder,
                                  {"ifr-overview.txt": OVERVIEW, "ifr-timescales.txt": TIMESCALES})
    return Searcher(generation, embedder, Gazetteer.load())


def first_passage(searcher: Searcher, options: SearchOptions, question: str = QUESTION) -> str:
    return searcher.search(question, k=3, options=options).hits[0].text


def test_the_passage_holding_the_number_asked_for_moves_up(searcher: Searcher) -> None:
    # with two passages the keyword side's min-max spread is as wide as it gets, so the
    # default's small bonus cannot reorder them; a large one shows the stage is wired
    assert SearchOptions().answer_type_bonus > 0
    off = replace(SearchOptions(), answer_type_bonus=0.0)
    assert "30 working days" not in first_passage(searcher, off)
    assert "30 working days" in first_passage(searcher, replace(off, answer_type_bonus=5.0))


def test_a_question_of_no_type_is_ranked_as_without_it(searcher: Searcher) -> None:
    question = "individual funding request decision by the panel"
    off = replace(SearchOptions(), answer_type_bonus=0.0)
    with_bonus = [h.chunk_id for h in searcher.search(question, k=3).hits]
    assert with_bonus == [h.chunk_id for h in searcher.search(question, k=3, options=off).hits]


def test_a_typed_sentence_outscores_a_closer_untyped_one_by_the_bonus() -> None:
    # two candidates, each with one sentence vector; the second's sentence is less similar
    # but holds the number asked for
    vector = np.array([1.0, 0.0])
    stored = {1: ([(0, 10)], np.array([[0.6, 0.8]])), 2: ([(0, 10)], np.array([[0.5, 0.866]]))}
    fused = [Candidate(1, 1.0), Candidate(2, 0.98)]
    typed = {1: np.array([False]), 2: np.array([True])}
    plain = fusion.sentence_rescore(fused, stored, vector, 0.2, 30)
    assert [c.chunk_id for c in plain] == [1, 2]
    bonus = fusion.sentence_rescore(fused, stored, vector, 0.2, 30, None, typed, 0.25)
    assert [c.chunk_id for c in bonus] == [2, 1]
    assert bonus[0].score == pytest.approx(0.98 + 0.2 * (0.5 + 0.25))


def test_the_memo_marks_the_sentences_that_hold_the_type(searcher: Searcher) -> None:
    memo = SentenceMemo(searcher.generation)
    ids = [h.chunk_id for h in searcher.search(QUESTION, k=3).hits]
    typed = memo.typed(ids, "amount")
    assert sorted(int(mask.any()) for mask in typed.values()) == [0, 1]
    assert not any(mask.any() for mask in memo.typed(ids, "date").values())
