"""Fitting the calibrated relevance and the verdict's two thresholds
(service/retrieval/coverage.py) on observed questions: scripts/calibrate.py's fit, and
the one `make eval` refits per fold."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from service.abstention import ANSWERABLE, Observed, fit_logistic
from service.evalsets.doubt_fit import Sample
from service.retrieval.coverage import Calibration

FITTED_ON = ("seed", "plans-eval")  # the project's sets, each in its own index
MAX_WRONG_NOT_FOUND = 0.01  # on the tuning part; the target is 3 % on unseen questions
MIN_UNCOVERED_FLAGGED = 0.85  # uncovered NHS topics marked weak or not_found; target 70 %


def best_scores(items: list[Observed], calibration: Calibration) -> np.ndarray:
    """Each question's best relevance (within the named area when it names one)."""
    best = []
    for item in items:
        scores = [calibration.relevance(d, c) for d, c in item.features]
        if item.area and item.area_documents:
            scores = [s for s, inside in zip(scores, item.in_area, strict=True) if inside]
        best.append(max(scores, default=0.0))
    return np.array(best)


def choose_thresholds(tune: list[Observed], fitted: Calibration) -> tuple[float, float]:
    """weak: just under all but MAX_WRONG_NOT_FOUND of the answerable questions' best
    passages; answered: high enough to flag MIN_UNCOVERED_FLAGGED of uncovered topics."""
    answerable = best_scores([o for o in tune if o.kind == ANSWERABLE], fitted)
    uncovered = best_scores([o for o in tune if o.kind == "uncovered"], fitted)
    weak = float(np.quantile(answerable, MAX_WRONG_NOT_FOUND)) * 0.9
    answered = max(weak, float(np.quantile(uncovered, MIN_UNCOVERED_FLAGGED)) + 1e-3)
    return round(weak, 4), round(answered, 4)


def fit(observed: list[Observed]) -> tuple[Calibration, dict[str, Any]]:
    """The logistic fit and thresholds on the tuning part, and the JSON to store."""
    tune = [o for o in observed if o.split == "tune"]
    features = np.vstack([o.features for o in tune])
    labels = np.concatenate([o.labels for o in tune])
    intercept, weights = fit_logistic(features, labels)
    fitted = Calibration(intercept, float(weights[0]), float(weights[1]), 1.0, 0.0)
    weak, answered = choose_thresholds(tune, fitted)
    calibration = Calibration(intercept, float(weights[0]), float(weights[1]), answered, weak)
    payload = {
        "intercept": round(intercept, 4),
        "weights": {"dense": round(float(weights[0]), 4),
                    "coverage": round(float(weights[1]), 4)},
        "thresholds": {"answered": answered, "weak": weak},
        "fitted": {"on": "tuning part (even-numbered lines) of tests/data/seed-questions.jsonl, "
                         "tests/data/plans-eval.jsonl and tests/data/unanswerable.jsonl "
                         "(split=tune), each set in its own index, as observed in "
                         "tests/data/verdict-training.json", "passages": int(len(labels)),
                   "positives": int(labels.sum()), "date": date.today().isoformat(),
                   "refit": "PYTHONPATH=. .venv/bin/python scripts/calibrate.py --reuse"},
    }
    return calibration, payload


def calibration_rows(samples: list[Sample]) -> list[Observed]:
    """The observations the shipped calibration is fitted on."""
    return [s.observed for s in samples if s.set_name in FITTED_ON]
