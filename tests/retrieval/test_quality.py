"""Retrieval-quality floors on the bundled corpus and the seed questions (issue 4).
The model is deterministic, so these numbers are stable run to run."""

from __future__ import annotations

import pytest
from paths import DATA

from service.evaluation import answer_outcomes, evaluate, load_questions
from service.retrieval.search import DEFAULT_MODE, Searcher

SEED = DATA / "seed-questions.jsonl"


@pytest.fixture(scope="module")
def searcher(bundled_searcher: Searcher) -> Searcher:
    return bundled_searcher


@pytest.fixture(scope="module")
def scores(searcher: Searcher) -> dict[str, object]:
    questions = load_questions(SEED)
    assert len(questions) == 35
    return {mode: evaluate(searcher, questions, mode) for mode in ("dense", "keyword", "hybrid")}


def test_default_mode_is_hybrid() -> None:
    assert DEFAULT_MODE == "hybrid"


def test_default_mode_meets_the_floors(scores: dict) -> None:  # type: ignore[type-arg]
    hybrid = scores[DEFAULT_MODE]
    assert hybrid.hit5 >= 0.95, hybrid.misses
    assert hybrid.hit1 >= 0.75, hybrid.misses


def test_hybrid_is_never_worse_than_either_retriever_on_mrr(
        scores: dict) -> None:  # type: ignore[type-arg]
    # Since the readers drop web boilerplate and the bundled texts have titles, keyword
    # search alone finds 34 of the 35 seed answers first, and hybrid ties it; hybrid's
    # clear win is on the 130-question plans set (BENCHMARKS.md: MRR 0.83 against 0.73).
    assert scores["hybrid"].mrr10 > scores["dense"].mrr10
    assert scores["hybrid"].mrr10 >= scores["keyword"].mrr10


def test_area_question_reports_its_interpretation(searcher: Searcher) -> None:
    result = searcher.search("what are Gloucestershire's urgent care plans")
    assert result.interpreted == {"area": "Gloucestershire"}
    top = result.hits[0]
    assert top.document.area == "Gloucestershire"
    assert "urgent care" in top.text.lower()


def test_question_without_a_place_is_left_alone(searcher: Searcher) -> None:
    assert searcher.search("how many task and finish groups were set up").interpreted == {}


def test_explicit_area_filter_wins_over_the_named_place(searcher: Searcher) -> None:
    from service.retrieval.search import Filters

    result = searcher.search("what are Gloucestershire's urgent care plans",
                             filters=Filters(areas=("Staffordshire and Stoke-on-Trent",)))
    assert result.interpreted == {}
    assert {hit.document.area for hit in result.hits} == {"Staffordshire and Stoke-on-Trent"}


def test_the_answer_quotes_the_seed_answers(searcher: Searcher) -> None:
    # the evaluator asks through the chat's own function (retrieval.chat.answer); 34 of 35
    # today (BENCHMARKS.md)
    outcomes = answer_outcomes(searcher, load_questions(SEED))
    found = [o for o in outcomes if o.shown]
    quoted = [o for o in found if o.answered]
    assert len(found) == 35
    assert len(quoted) >= 33, [o.question.id for o in found if not o.answered]
