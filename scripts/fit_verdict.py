#!/usr/bin/env python
"""Fit the verdict's doubt model and write service/data/verdict_doubt.json.

Asks every evaluation set's questions, answerable and not, in that set's own index
(service/evalsets/registry.py; the union is left out, as the verdict's cross-validation
in `make eval` leaves it out of fitting), and keeps each question's result-list features
in tests/data/verdict-training.json. Then fits the model (service/evalsets/doubt_fit.py)
on every fold but the held-out one, over the shipped calibration's relevance, and reports
how the verdict separates top-5 misses from top-5 hits: without the model, and with it
out of fold by document; the held-out fold as totals only.

    PYTHONPATH=. .venv/bin/python scripts/fit_verdict.py            # ask, then fit
    PYTHONPATH=. .venv/bin/python scripts/fit_verdict.py --reuse    # refit only
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

from service.abstention import status_of
from service.evalsets.doubt_fit import (
    DEFAULT_FEATURES,
    HIT_FLAG_SHARE,
    L2,
    TRAINING,
    Sample,
    fit_doubt,
    training_samples,
)
from service.evalsets.folds import FOLDS, HELD_OUT
from service.evalsets.verdict import format_verdict_table, separation
from service.retrieval.coverage import Calibration, bundled_calibration
from service.retrieval.doubt import FEATURES

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "service" / "data" / "verdict_doubt.json"


def fold_calibrations(samples: list[Sample], base: Calibration, l2: float, share: float,
                      features: tuple[str, ...]) -> dict[int, Calibration]:
    """The calibration with a doubt model fitted without each fold, and (HELD_OUT) on
    every fold but the held-out one: the shipped fit."""
    training = [s for s in samples if s.fold != HELD_OUT]
    fitted = {}
    for fold in [*range(FOLDS), HELD_OUT]:
        kept = [s.observed for s in training if s.fold != fold]
        fitted[fold] = replace(base, doubt=fit_doubt(kept, base, l2, share, features))
    return fitted


def report(samples: list[Sample], base: Calibration, fitted: dict[int, Calibration]) -> str:
    """Each set's separation with the relevance verdict alone and with the doubt model
    out of fold; then the held-out fold's totals."""
    plain = replace(base, doubt=None)
    rows, held = {}, {}
    for name in dict.fromkeys(s.set_name for s in samples):
        inside = [s for s in samples if s.set_name == name and s.fold != HELD_OUT]
        rows[f"{name}, relevance alone"] = separation(
            [(s.observed, status_of(s.observed, plain)) for s in inside])
        rows[f"{name}, with doubt out of fold"] = separation(
            [(s.observed, status_of(s.observed, fitted[s.fold])) for s in inside])
        kept = [s for s in samples if s.set_name == name and s.fold == HELD_OUT]
        for label, calibration in (("relevance alone", plain), ("with doubt", fitted[HELD_OUT])):
            held[f"{name}, held-out fold, {label}"] = separation(
                [(s.observed, status_of(s.observed, calibration)) for s in kept])
    pooled = [s for s in samples if s.fold != HELD_OUT]
    rows["all sets, relevance alone"] = separation(
        [(s.observed, status_of(s.observed, plain)) for s in pooled])
    rows["all sets, with doubt out of fold"] = separation(
        [(s.observed, status_of(s.observed, fitted[s.fold])) for s in pooled])
    return format_verdict_table(rows, "Out of the held-out fold, by document") + "\n\n" + \
        format_verdict_table(held, "The held-out fold (totals only)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse", action="store_true",
                        help=f"refit from {TRAINING.relative_to(ROOT)} without asking")
    parser.add_argument("--l2", type=float, default=L2, help="L2 penalty of the fit")
    parser.add_argument("--share", type=float, default=HIT_FLAG_SHARE,
                        help="share of the training top-5 hits the threshold flags")
    parser.add_argument("--features", default=",".join(DEFAULT_FEATURES),
                        help=f"comma-separated, of: {', '.join(FEATURES)}")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the fitted file")
    parser.add_argument("--dry-run", action="store_true", help="report without writing")
    args = parser.parse_args()
    samples = training_samples(ROOT, args.reuse, keep=not args.dry_run)
    base = replace(bundled_calibration(), doubt=None)
    features = tuple(name.strip() for name in args.features.split(",") if name.strip())
    if unknown := set(features) - set(FEATURES):
        parser.error(f"unknown features: {', '.join(sorted(unknown))}")
    fitted = fold_calibrations(samples, base, args.l2, args.share, features)
    print(report(samples, base, fitted))
    shipped = fitted[HELD_OUT].doubt
    if shipped is None:
        print("nothing to fit: no top-5 miss or no top-5 hit in the training folds")
        return 1
    payload = shipped.to_dict() | {"fitted": {
        "on": f"every evaluation set's questions ({TRAINING.relative_to(ROOT)}) outside the "
              "held-out fold, over the shipped calibration's relevance",
        "l2": args.l2, "hits_flagged_in_training": args.share,
        "questions": sum(s.fold != HELD_OUT for s in samples),
        "date": date.today().isoformat(),
        "refit": "PYTHONPATH=. .venv/bin/python scripts/fit_verdict.py --reuse"}}
    print(json.dumps(payload, indent=2))
    if not args.dry_run:
        args.output.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
