"""The learned ranker: a linear model over features.FEATURES, fitted by
scripts/fit_ranker.py out of fold by document on every evaluation set, and shipped as
service/data/ranker.json. It re-orders the fused candidates' top window; below the window
the fused order stands.

One structural rule stays outside the model, and applies to the hand-set order too:
apparatus (a reference list, a contents page, a glossary) never outranks body text for a
question that does not ask about it.
The model learns how much such a passage is worth; the rule keeps a bibliography that
repeats every topic word from being the first thing a reader opens."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from service.retrieval.features import FEATURES
from service.retrieval.passages import Candidate

RANKER_FILE = Path(__file__).resolve().parent.parent / "data" / "ranker.json"


class RankerMismatch(Exception):
    """The fitted file names other features than this code computes."""


@dataclass(frozen=True)
class LinearRanker:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float = 0.0

    def score(self, table: np.ndarray) -> np.ndarray:
        return ((table - self.mean) / self.scale) @ self.weights + self.bias

    def to_json(self) -> dict[str, Any]:
        return {"features": list(self.features),
                "mean": [round(float(v), 6) for v in self.mean],
                "scale": [round(float(v), 6) for v in self.scale],
                "weights": [round(float(v), 6) for v in self.weights],
                "bias": round(float(self.bias), 6)}

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> LinearRanker:
        features = tuple(payload["features"])
        if features != FEATURES:
            raise RankerMismatch(f"the ranker file was fitted on features {features}, but "
                                 f"this code computes {FEATURES}; refit with "
                                 "scripts/fit_ranker.py")
        return cls(features, np.asarray(payload["mean"], dtype=np.float32),
                   np.asarray(payload["scale"], dtype=np.float32),
                   np.asarray(payload["weights"], dtype=np.float32),
                   float(payload.get("bias", 0.0)))


def load_ranker(path: Path = RANKER_FILE) -> LinearRanker:
    return LinearRanker.from_json(json.loads(path.read_text(encoding="utf-8")))


def bundled_ranker() -> LinearRanker | None:
    """The shipped model; None when the file is absent (the hand-set weights then rank)."""
    return load_ranker() if RANKER_FILE.exists() else None


def reorder(window: list[Candidate], scores: np.ndarray, apparatus: list[bool]
            ) -> list[Candidate]:
    """The window by the model's scores, with unasked-for apparatus after all body text."""
    scored = [(replace(c, score=float(s)), flag)
              for c, s, flag in zip(window, scores, apparatus, strict=True)]
    scored.sort(key=lambda pair: -pair[0].score)
    return apparatus_last([c for c, _ in scored], [flag for _, flag in scored])


def apparatus_last(window: list[Candidate], apparatus: list[bool]) -> list[Candidate]:
    """The window's body text in its order, then its apparatus in its order."""
    return [c for c, flag in zip(window, apparatus, strict=True) if not flag] + \
        [c for c, flag in zip(window, apparatus, strict=True) if flag]
