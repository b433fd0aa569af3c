"""The coverage verdict cross-validated by document: how well it separates questions whose
top 5 holds the answer from those whose top 5 does not, out of fold on every set."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.abstention import ANSWERABLE, Observed, status_of
from service.evalsets.folds import FOLDS, CrossValidation, cross_validate
from service.evalsets.report import FLAGGED, SetResult, abstention_figures, share
from service.retrieval.coverage import Calibration

FitCalibration = Callable[[list[Observed]], Calibration]


def separation(pairs: list[tuple[Observed, str]]) -> dict[str, Any]:
    """Top-5 misses flagged weak or not_found (want high) and top-5 hits flagged (want
    low), with the abstention figures the coverage targets read."""
    answerable = [(o, s) for o, s in pairs if o.kind == ANSWERABLE]
    misses = [s in FLAGGED for o, s in answerable if not o.labels.any()]
    hits = [s in FLAGGED for o, s in answerable if o.labels.any()]
    figures = abstention_figures([o for o, _ in pairs], {o.id: s for o, s in pairs})
    return {"questions": len(pairs), "top5_misses": len(misses), "top5_hits": len(hits),
            "misses_flagged": share(misses), "hits_flagged": share(hits), **figures}


def verdict_cross_validation(results: list[SetResult], fit: FitCalibration,
                             folds: int = FOLDS) -> CrossValidation:
    """Fit the calibration on the training folds of every set, the union too (as
    scripts/fit_verdict.py fits: the union's larger library has more top-5 misses to
    learn from; a question is in the same fold in every set), score each set and the
    union."""
    fold = {id: f for r in results for id, f in r.folds().items()}
    return cross_validate({r.name: r.observed for r in results}, lambda o: fold[o.id], fit,
                          lambda calibration, o: status_of(o, calibration), separation,
                          [r.name for r in results], folds)


def shipped_separation(results: list[SetResult]) -> dict[str, dict[str, Any]]:
    """The same figures for the shipped calibration (in sample on seed and plans-eval)."""
    return {r.name: separation([(o, status_of(o, r.calibration)) for o in r.observed])
            for r in results}


VERDICT_COLUMNS = [("questions", "{:>3}"), ("top5_misses", "{:>3}"), ("top5_hits", "{:>3}"),
                   ("misses_flagged", "{:.3f}"), ("hits_flagged", "{:.3f}"),
                   ("answerable_not_found", "{:.3f}"), ("uncovered_flagged", "{:.3f}")]


def format_verdict_table(figures: dict[str, dict[str, Any]], title: str) -> str:
    """One row per set: how the verdict separates top-5 misses from top-5 hits."""
    lines = [title, "| set | questions | top-5 misses | top-5 hits | misses flagged | "
                    "hits flagged | answerable not_found | uncovered flagged |",
             "|---|---|---|---|---|---|---|---|"]
    for name, row in figures.items():
        cells = ["-" if row[key] is None else form.format(row[key])
                 for key, form in VERDICT_COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
