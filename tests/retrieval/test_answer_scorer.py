"""The learned answer-sentence scorer (service/retrieval/sentence_scorer.py): its file,
its refit from the committed candidates, and how it orders a hand-made candidate list."""

from __future__ import annotations

import json

import numpy as np
import pytest
from paths import DATA

from service.embedding.sentences import sentence_spans
from service.evalsets.answer_fit import fold_scorers, load
from service.evalsets.folds import HELD_OUT
from service.retrieval.answer import candidate_rows, candidates
from service.retrieval.results import DocumentRef, Hit
from service.retrieval.sentence_scorer import (
    FEATURES,
    SCORER_FILE,
    AnswerScorer,
    ScorerMismatch,
    hand_set,
    load_scorer,
    scores,
)

CANDIDATES = DATA / "answer-training.npz"


def hit(rank: int, sentences: list[tuple[str, float]]) -> Hit:
    """A passage made of the given sentences, each with its similarity to the question."""
    text = " ".join(s for s, _ in sentences)
    spans = sentence_spans(text)
    scored = tuple(zip(spans, (score for _, score in sentences), strict=True))
    document = DocumentRef(f"doc-{rank}", f"Plan {rank}", None, f"plan-{rank}.txt", None)
    return Hit(rank=rank, score=1.0 / rank, text=text, page=1, page_end=1, page_label=None,
               section="", chunk_id=rank, document=document, sentences=scored)


def row(**values: float) -> list[float]:
    return [values.get(name, 0.0) for name in FEATURES]


def test_the_file_round_trips_and_refuses_other_features() -> None:
    count = len(FEATURES)
    scorer = AnswerScorer(np.zeros(count), np.ones(count), np.arange(count) / 10, 0.2, 0.7)
    again = AnswerScorer.from_json(json.loads(json.dumps(scorer.to_json())))
    table = np.random.default_rng(1).normal(size=(4, count))
    assert again.score(table) == pytest.approx(scorer.score(table), abs=1e-5)
    with pytest.raises(ScorerMismatch, match="refit"):
        AnswerScorer.from_json(scorer.to_json() | {"features": ["similarity"]})


def test_the_hand_set_formula_is_the_documented_one() -> None:
    value = hand_set(np.array(row(similarity=0.6, overlap=0.4, typed=1.0, rank=2, long=0.5)))
    assert value == pytest.approx(0.6 - 0.03 * 2 + 0.5 * 0.4 + 0.3 - 0.1 * 0.5)


def test_the_committed_candidates_exist_for_the_refit() -> None:
    groups = load(CANDIDATES)
    assert len(groups) > 300
    assert sum(int(g.labels.any()) for g in groups) > 150
    assert {g.fold for g in groups} >= {HELD_OUT, 0, 1, 2, 3, 4}


def test_the_shipped_scorer_is_what_the_refit_command_fits() -> None:
    """`scripts/fit_answer_scorer.py --reuse` fits on the committed candidates; the
    shipped file must be that fit (rounded as written)."""
    shipped = load_scorer(SCORER_FILE)
    refit = fold_scorers(load(CANDIDATES))[HELD_OUT]
    assert shipped.mean == pytest.approx(refit.mean, abs=1e-4)
    assert shipped.scale == pytest.approx(refit.scale, abs=1e-4)
    assert shipped.weights == pytest.approx(refit.weights, abs=1e-3)
    assert (shipped.unit, shipped.offset) == pytest.approx((refit.unit, refit.offset), abs=1e-3)


def test_the_shipped_scorer_orders_a_hand_made_list_sensibly() -> None:
    """A close, on-topic sentence holding what was asked, from the first source, beats
    a distant one from the fifth source that shares no term and holds nothing asked."""
    table = np.array([
        row(similarity=0.25, overlap=0.0, typed=0.0, rank=4, long=1.0, position=0.9,
            fused=0.2),
        row(similarity=0.70, overlap=0.8, typed=1.0, rank=0, long=0.0, position=0.1,
            number=1.0, fused=0.9),
        row(similarity=0.45, overlap=0.4, typed=0.0, rank=1, long=0.2, position=0.5,
            fused=0.6),
    ])
    learned = scores(table, load_scorer(SCORER_FILE))
    assert learned[1] > learned[2] > learned[0]
    by_hand = scores(table, None)
    assert by_hand[1] > by_hand[2] > by_hand[0]


def test_candidates_are_ordered_by_the_scorer_given() -> None:
    """The same sentences, ordered by the hand-set formula or by a model that weighs
    only whether a sentence holds a number."""
    hits = [hit(1, [("The plan covers the whole county and its hospitals.", 0.8),
                    ("It will open 40 new beds by 2026.", 0.3)])]
    question = "what does the plan cover"
    _, table = candidate_rows(question, hits)
    assert table.shape == (2, len(FEATURES))
    assert [c.text for c in candidates(question, hits)][0].startswith("The plan covers")
    numbers = AnswerScorer(np.zeros(len(FEATURES)), np.ones(len(FEATURES)),
                           np.array(row(number=5.0)))
    assert candidates(question, hits, numbers)[0].text.startswith("It will open 40")
