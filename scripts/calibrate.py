#!/usr/bin/env python
"""Fit the calibrated relevance and the coverage thresholds, and write them to
service/data/calibration.json.

Fits on the tuning part (every other question) of the seed and plans-eval sets and of
their unanswerable questions, each observed in its set's own index (the rows of
tests/data/verdict-training.json, which scripts/fit_verdict.py keeps for every set);
reports on the held-out part. Refit the verdict's doubt (scripts/fit_verdict.py --reuse)
after this: it reads the calibrated relevance.

    PYTHONPATH=. .venv/bin/python scripts/calibrate.py            # observe, then fit
    PYTHONPATH=. .venv/bin/python scripts/calibrate.py --reuse    # refit only
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from service.abstention import abstention_rows, format_abstention
from service.evalsets.calibration_fit import calibration_rows, fit
from service.evalsets.doubt_fit import TRAINING, training_samples

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=ROOT / "service/data/calibration.json",
                        help="where to write the fitted parameters")
    parser.add_argument("--dry-run", action="store_true", help="report without writing")
    parser.add_argument("--reuse", action="store_true",
                        help=f"refit from {TRAINING.relative_to(ROOT)} without searching")
    args = parser.parse_args()
    samples = training_samples(ROOT, args.reuse, keep=not args.dry_run)
    observed = calibration_rows(samples)
    calibration, payload = fit(observed)
    for split in ("tune", "held-out"):
        print(format_abstention(abstention_rows(observed, calibration, split),
                                f"{split} part (both corpora)"))
        print()
    print(json.dumps(payload, indent=2))
    if not args.dry_run:
        args.output.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
