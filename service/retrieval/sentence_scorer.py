"""How the extractive answer (answer.py) scores a candidate sentence: the hand-set linear
formula, or a learned linear model over the same general features, fitted by
scripts/fit_answer_scorer.py out of fold by document on every evaluation set and shipped
as service/data/answer_scorer.json. The learned score is put in the hand-set formula's
units (the same mean and spread over the training candidates), so the selection's
margins (a clear win, the relevance floor, the redundancy penalty) keep their sense."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SCORER_FILE = Path(__file__).resolve().parent.parent / "data" / "answer_scorer.json"

# each candidate sentence's features, in this order
FEATURES = (
    "similarity",  # cosine of the sentence's stored vector and the question's
    "overlap",  # share of the question's (locally idf-weighted) terms it holds
    "typed",  # 1 when it holds what the question asks for (a number for "how many"...)
    "rank",  # its source's rank less 1
    "long",  # words beyond SHORT_SENTENCE, in units of SHORT_SENTENCE
    "position",  # its place in its passage: 0 first, 1 last
    "number",  # 1 when it holds a digit
    "fused",  # its source's calibrated relevance (0..1)
)

KEYWORD_WEIGHT = 0.5  # share of the question's (locally idf-weighted) terms in the sentence
TYPE_WEIGHT = 0.3  # the sentence holds what the question asks for
RANK_PENALTY = 0.03  # per source rank: fusion already weighed the passages
LENGTH_PENALTY = 0.1  # tuned on the tune halves with the weights above


class ScorerMismatch(Exception):
    """The fitted file names other features than this code computes."""


def hand_set(row: np.ndarray) -> float:
    """The hand-set formula (BENCHMARKS.md, "How the answer is chosen")."""
    similarity, overlap, typed, rank, long = (float(v) for v in row[:5])
    return (similarity - RANK_PENALTY * rank + KEYWORD_WEIGHT * overlap + TYPE_WEIGHT * typed
            - LENGTH_PENALTY * long)


@dataclass(frozen=True)
class AnswerScorer:
    """A linear model on standardised FEATURES, its output in the hand-set formula's
    units: offset + unit x the model's logit."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    unit: float = 1.0
    offset: float = 0.0

    def score(self, table: np.ndarray) -> np.ndarray:
        return self.offset + self.unit * (((table - self.mean) / self.scale) @ self.weights)

    def to_json(self) -> dict[str, Any]:
        return {"features": list(FEATURES),
                "mean": [round(float(v), 6) for v in self.mean],
                "scale": [round(float(v), 6) for v in self.scale],
                "weights": [round(float(v), 6) for v in self.weights],
                "unit": round(self.unit, 6), "offset": round(self.offset, 6)}

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> AnswerScorer:
        if tuple(payload["features"]) != FEATURES:
            raise ScorerMismatch(f"the answer scorer was fitted on features "
                                 f"{payload['features']}, but this code computes {FEATURES}; "
                                 "refit with scripts/fit_answer_scorer.py")
        mean, scale, weights = (np.asarray(payload[key], dtype=np.float64)
                                for key in ("mean", "scale", "weights"))
        return cls(mean, scale, weights, float(payload["unit"]), float(payload["offset"]))


def scores(table: np.ndarray, scorer: AnswerScorer | None) -> list[float]:
    """Each row's score: the hand-set formula without a scorer, else the model's."""
    if scorer is None:
        return [hand_set(row) for row in table]
    return [float(v) if math.isfinite(v) else 0.0 for v in scorer.score(table)]


def load_scorer(path: Path = SCORER_FILE) -> AnswerScorer:
    return AnswerScorer.from_json(json.loads(path.read_text(encoding="utf-8")))


def bundled_scorer() -> AnswerScorer | None:
    """The shipped model; None when the file is absent (the hand-set formula then scores)."""
    return load_scorer() if SCORER_FILE.exists() else None
