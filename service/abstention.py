"""Measuring and fitting the coverage verdict: features of each question's passages,
a logistic fit of the calibrated relevance, the two thresholds, and the abstention
table that scripts/evaluate.py prints."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from service.evaluation import Question, is_hit
from service.retrieval.coverage import (
    Calibration,
    term_coverage,
    topic_terms,
    verdict,
)
from service.retrieval.doubt import ListSignals
from service.retrieval.search import Searcher

ANSWERABLE = "answerable"
KINDS = {"off_topic": "off-topic", "no_area": "area with no documents",
         "uncovered": "NHS topic not covered", ANSWERABLE: "answerable"}
VERDICT_K = 5  # the API's default k: the verdict is judged on the passages a user sees


@dataclass(frozen=True)
class Unanswerable:
    id: str
    question: str
    kind: str  # off_topic | no_area | uncovered
    split: str  # tune | held-out


@dataclass(frozen=True)
class Observed:
    """One question's passages as the calibration sees them."""

    id: str
    kind: str
    split: str
    features: np.ndarray  # (passages, 2): cosine, topic-word coverage
    labels: np.ndarray  # 1 where the passage answers the question
    in_area: np.ndarray  # True where the passage is from the area the question names
    area: str | None
    area_documents: int
    signals: ListSignals | None = None  # the result list's, for the verdict's doubt


# a development set's unanswerable kinds, in the names the verdict's table uses
DEVSET_KINDS = {"topic": "uncovered", "area": "no_area"}


def load_unanswerable(path: Path) -> list[Unanswerable]:
    """The project's format (kind, split) or a development set's (topic or area, no split:
    the lines alternate between the parts, as the answerable questions do)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return [Unanswerable(r["id"], r["question"], DEVSET_KINDS.get(r["kind"], r["kind"]),
                         r.get("split") or answerable_split(i)) for i, r in enumerate(rows)]


def answerable_split(index: int) -> str:
    """Alternate questions between the tuning and held-out parts."""
    return "tune" if index % 2 == 0 else "held-out"


def observe(searcher: Searcher, text: str, id: str, kind: str, split: str,
            question: Question | None = None) -> Observed:
    result = searcher.search(text, k=VERDICT_K)  # highlighted, as the API: sentences count
    terms = topic_terms(text, searcher.gazetteer)
    area = result.coverage.area if result.coverage else None
    features = np.array([[hit.dense or 0.0, term_coverage(terms, hit.text)]
                         for hit in result.hits], dtype=float).reshape(-1, 2)
    labels = np.array([question is not None and is_hit(question, hit.document.path, hit.text)
                       for hit in result.hits], dtype=float)
    in_area = np.array([searcher.speaks_for(hit, area) for hit in result.hits], dtype=bool)
    count = result.coverage.area_documents if result.coverage else 0
    return Observed(id, kind, split, features, labels, in_area, area, count, result.signals)


def observe_all(searcher: Searcher, answerable: list[Question],
                unanswerable: list[Unanswerable]) -> list[Observed]:
    observed = [observe(searcher, q.question, q.id, ANSWERABLE, answerable_split(i), q)
                for i, q in enumerate(answerable)]
    observed += [observe(searcher, u.question, u.id, u.kind, u.split) for u in unanswerable]
    return observed


def observed_rows(observed: list[Observed]) -> list[dict[str, Any]]:
    return [{"id": o.id, "kind": o.kind, "split": o.split, "features": o.features.tolist(),
             "labels": o.labels.tolist(), "in_area": o.in_area.tolist(), "area": o.area,
             "area_documents": o.area_documents,
             "signals": o.signals.to_list() if o.signals else None} for o in observed]


def load_rows(rows: list[dict[str, Any]]) -> list[Observed]:
    return [Observed(r["id"], r["kind"], r["split"],
                     np.array(r["features"], dtype=float).reshape(-1, 2),
                     np.array(r["labels"], dtype=float), np.array(r["in_area"], dtype=bool),
                     r["area"], r["area_documents"],
                     ListSignals.from_list(r["signals"]) if r.get("signals") else None)
            for r in rows]


def save_observed(observed: list[Observed], path: Path) -> None:
    """Keep the searched features, so a refit of the thresholds needs no new searches."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(observed_rows(observed)), encoding="utf-8")


def load_observed(path: Path) -> list[Observed]:
    return load_rows(json.loads(path.read_text(encoding="utf-8")))


def fit_logistic(features: np.ndarray, labels: np.ndarray, l2: float = 1e-3,
                 steps: int = 50) -> tuple[float, np.ndarray]:
    """Intercept and weights of an L2-regularised logistic regression (Newton steps)."""
    x = np.hstack([np.ones((len(features), 1)), features])
    w = np.zeros(x.shape[1])
    penalty = l2 * np.diag([0.0] + [1.0] * features.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-x @ w))
        gradient = x.T @ (p - labels) + penalty @ w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + penalty + 1e-9 * np.eye(len(w))
        w -= np.linalg.solve(hessian, gradient)
    return float(w[0]), w[1:]


def status_of(item: Observed, calibration: Calibration) -> str:
    scores = [calibration.relevance(d, c) for d, c in item.features]
    in_area = [s for s, inside in zip(scores, item.in_area, strict=True) if inside]
    return verdict(max(scores, default=0.0), max(in_area, default=0.0), calibration,
                   item.area, item.area_documents, "",
                   mentioned=bool(in_area) and item.area_documents == 0,
                   doubtful=calibration.doubts(scores, item.features, item.signals)).status


def abstention_rows(observed: list[Observed], calibration: Calibration, split: str | None
                    ) -> list[dict[str, Any]]:
    """Per question kind: how many, and the shares marked not_found and weak."""
    rows = []
    for kind, label in KINDS.items():
        items = [o for o in observed if o.kind == kind and (split is None or o.split == split)]
        if not items:
            continue
        statuses = [status_of(o, calibration) for o in items]
        not_found = statuses.count("not_found") / len(items)
        weak = statuses.count("weak") / len(items)
        rows.append({"kind": label, "questions": len(items), "not_found": round(not_found, 3),
                     "weak": round(weak, 3), "weak_or_not_found": round(not_found + weak, 3)})
    return rows


def format_abstention(rows: list[dict[str, Any]], title: str) -> str:
    lines = [title, "| question kind            | n   | not_found | weak  | weak or not_found |",
             "|--------------------------|-----|-----------|-------|-------------------|"]
    for row in rows:
        lines.append(f"| {row['kind']:<24} | {row['questions']:<3} | {row['not_found']:.3f}     "
                     f"| {row['weak']:.3f} | {row['weak_or_not_found']:.3f}             |")
    return "\n".join(lines)
