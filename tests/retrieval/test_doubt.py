"""The verdict's doubt: the result list's signals, the model over them, its refit from
the committed training file, and what it does to a real search's verdict."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from service.abstention import ANSWERABLE, Observed
from service.evalsets.doubt_fit import TRAINING, fit_doubt, load_samples
from service.evalsets.folds import HELD_OUT
from service.retrieval.coverage import Calibration, bundled_calibration, verdict
from service.retrieval.doubt import (
    DOUBT_FILE,
    FEATURES,
    Doubt,
    ListSignals,
    bundled_doubt,
    feature_vector,
    list_signals,
    typed_passages,
)
from service.retrieval.search import Searcher

CALIBRATION = Calibration(intercept=-6.0, dense_weight=8.0, coverage_weight=3.0,
                          answered=0.5, weak=0.1)
SHIPPED = Path(__file__).resolve().parents[2] / "service" / DOUBT_FILE


def test_list_signals_read_agreement_documents_and_the_best_sentence() -> None:
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)] + [(100 + i, 0.1) for i in range(20)]
    keyword = [(2, 9.0), (1, 8.0), (50, 7.0)]
    signals = list_signals([(1, 4), (2,), (3,)], ["a", "a", "b"], [0.6, None, 0.7],
                           dense, keyword, 3)
    assert signals.agreement == pytest.approx(0.2)  # chunks 1 and 2, of the top 10
    assert signals.top_in_both == 1.0
    assert signals.best_sentence == 0.7
    assert signals.documents == pytest.approx(2 / 3)
    assert signals.topic_words == 3
    only_dense = list_signals([(3,)], ["a"], [None], dense, keyword, 1)
    assert only_dense.top_in_both == 0.0 and only_dense.best_sentence is None
    assert ListSignals.from_list(only_dense.to_list()) == only_dense


def test_the_kind_a_question_asks_for_is_looked_for_in_the_best_sentences() -> None:
    def hit(text: str) -> tuple[str, tuple[tuple[tuple[int, int], float], ...]]:
        return text, (((0, len(text)), 0.6),)

    passages = [hit("The programme will cost £12 million over three years."),
                hit("The programme is run by the integrated care board in every area.")]
    assert typed_passages("how much will the programme cost", passages) == [True, False]
    assert typed_passages("tell me about the programme", passages) is None
    signals = list_signals([(1,), (2,)], ["d", "d"], [0.6, 0.6], [], [], 1,
                           typed_passages("how much will the programme cost", passages[::-1]))
    assert (signals.type_in_first, signals.type_share) == (0.0, 0.5)
    untyped = list_signals([(1,)], ["d"], [0.6], [], [], 1, None)
    assert (untyped.type_in_first, untyped.type_share) == (1.0, 1.0)
    assert ListSignals.from_list(signals.to_list()) == signals


def test_only_the_five_passages_shown_by_default_count() -> None:
    signals = list_signals([(i,) for i in range(8)], [str(i % 2) for i in range(8)],
                           [0.1] * 7 + [0.9], [], [], 2)
    assert signals.best_sentence == 0.1  # the eighth passage's sentence is not shown
    relevance = [0.9, 0.5, 0.4, 0.3, 0.2, 0.0, 0.0]
    pairs = np.array([[0.7, 1.0]] + [[0.5, 0.5]] * 6)
    row = dict(zip(FEATURES, feature_vector(relevance, pairs, signals), strict=True))
    assert row["relevance_margin"] == pytest.approx(0.9 - 0.2)
    assert row["relevance_over_mean"] == pytest.approx(0.9 - np.mean(relevance[:5]))
    assert row["coverage_over_mean"] == pytest.approx(1.0 - 0.6)
    assert row["best_sentence"] == 0.1


def test_no_sentence_scores_fall_back_to_the_best_cosine() -> None:
    signals = ListSignals(0.5, 1.0, None, 1.0, 2)
    row = dict(zip(FEATURES, feature_vector([0.5, 0.4], np.array([[0.6, 1.0], [0.8, 0.5]]),
                                            signals), strict=True))
    assert row["best_sentence"] == 0.8


def test_the_model_round_trips_and_refuses_features_it_cannot_compute() -> None:
    model = Doubt(("relevance_margin",), 0.5, (2.0,), (0.1,), (0.2,), 0.4)
    assert Doubt.from_dict(model.to_dict()) == model
    with pytest.raises(ValueError, match="refit"):
        Doubt.from_dict(model.to_dict() | {"features": ["a_feature_nobody_computes"]})


def test_a_doubtful_list_turns_answered_into_weak_and_nothing_else() -> None:
    assert verdict(0.9, 0.0, CALIBRATION, None, 0, "", doubtful=True).status == "weak"
    assert verdict(0.9, 0.0, CALIBRATION, None, 0, "").status == "answered"
    # it never hides a not_found, nor replaces the named-area messages
    assert verdict(0.05, 0.0, CALIBRATION, None, 0, "", doubtful=True).status == "not_found"
    absent = verdict(0.9, 0.0, CALIBRATION, "Cornwall", 0, "", doubtful=True)
    assert absent.status == "not_found" and "No documents about Cornwall" in absent.message


def observed(margin: float, hit: bool) -> Observed:
    # the first passage stands out by `margin` in cosine over four equal ones
    features = np.array([[0.5 + margin, 1.0]] + [[0.5, 0.5]] * 4)
    return Observed("q", ANSWERABLE, "tune", features, np.array([hit] + [False] * 4, float),
                    np.zeros(5, bool), None, 0, ListSignals(0.3, 1.0, 0.6, 0.6, 2))


def test_the_fit_learns_that_a_first_passage_that_stands_out_is_right() -> None:
    rng = np.random.default_rng(7)
    items = [observed(float(m), True) for m in rng.uniform(0.1, 0.3, 60)]
    items += [observed(float(m), False) for m in rng.uniform(0.0, 0.15, 20)]
    model = fit_doubt(items, CALIBRATION, flag_share=0.1)
    assert model is not None and model.features == ("relevance_margin", "coverage_over_mean")
    assert model.weights[0] > 0
    calibrated = replace(CALIBRATION, doubt=model)
    flagged = [calibrated.doubts([CALIBRATION.relevance(*p) for p in o.features], o.features,
                                 o.signals) for o in items]
    hits_flagged, misses_flagged = np.mean(flagged[:60]), np.mean(flagged[60:])
    assert hits_flagged == pytest.approx(0.1, abs=0.03)
    assert misses_flagged > 0.5
    assert fit_doubt([o for o in items if o.labels.any()], CALIBRATION) is None  # no miss


def test_the_shipped_model_is_what_the_refit_command_fits() -> None:
    """scripts/fit_verdict.py --reuse fits every fold but the held-out one of the committed
    training file, over the shipped calibration; the shipped file must be that fit."""
    samples = [s.observed for s in load_samples(TRAINING) if s.fold != HELD_OUT]
    refit = fit_doubt(samples, replace(bundled_calibration(), doubt=None))
    shipped = bundled_doubt()
    assert refit is not None and shipped is not None and SHIPPED.is_file()
    assert shipped.features == refit.features
    assert shipped.weights == pytest.approx(refit.weights, abs=1e-4)
    assert shipped.mean == pytest.approx(refit.mean, abs=1e-4)
    assert shipped.threshold == pytest.approx(refit.threshold, abs=1e-4)
    assert bundled_calibration().doubt == shipped


@pytest.fixture(scope="module")
def searcher(bundled_searcher: Searcher) -> Searcher:
    return bundled_searcher


def test_a_real_search_carries_its_signals_and_the_doubt_decides(searcher: Searcher) -> None:
    query = "what are Gloucestershire's urgent care plans"
    result = searcher.search(query)
    assert result.coverage is not None and result.coverage.status == "answered"
    assert result.signals is not None and result.signals.best_sentence is not None
    assert 0.0 <= result.signals.agreement <= 1.0 and result.signals.topic_words >= 1
    always = Doubt(("relevance_margin",), 0.0, (0.0,), (0.0,), (1.0,), 0.99)
    calibration = searcher.calibration
    try:
        searcher.calibration = replace(calibration, doubt=always)
        doubted = searcher.search(query)
        assert doubted.coverage is not None and doubted.coverage.status == "weak"
        assert "may not answer it" in (doubted.coverage.message or "")
        keyword = searcher.search(query, mode="keyword")  # the model is fitted on hybrid
        assert keyword.signals is None and keyword.coverage is not None
        assert keyword.coverage.status == "answered"
    finally:
        searcher.calibration = calibration
