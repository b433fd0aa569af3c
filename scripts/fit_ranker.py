#!/usr/bin/env python
"""Fit the learned ranker and write service/data/ranker.json.

Searches every evaluation set's questions in that set's index and in the union of all
sets (service/evalsets/registry.py), keeps each question's ranking window as features
and labels (tests/data/ranker-training.npz), then fits a pairwise logistic ranker on every
fold but the held-out one. Reports chunk-level figures in the windows: fused order, and
the ranker out of fold (by document); the held-out fold as totals only. `make eval`
reports the served figures, out of fold, from the same windows.

    PYTHONPATH=. .venv/bin/python scripts/fit_ranker.py            # search, then fit
    PYTHONPATH=. .venv/bin/python scripts/fit_ranker.py --reuse    # refit from the windows
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from service.embedding.models import SentenceTransformerEmbedder
from service.evalsets.folds import HELD_OUT
from service.evalsets.ranker_fit import (
    L2,
    WINDOWS,
    Window,
    fold_rankers,
    gather,
    load_windows,
    save_windows,
    window_figures,
)
from service.evalsets.registry import all_sets
from service.evalsets.report import open_set, set_questions

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "service" / "data" / "ranker.json"


def search_all() -> list[Window]:
    embedder = SentenceTransformerEmbedder()
    windows: list[Window] = []
    for evaluation_set in all_sets(ROOT):
        searcher = open_set(evaluation_set, ROOT, embedder)
        questions, _ = set_questions(evaluation_set)
        windows += gather(evaluation_set.name, searcher, questions)
        print(f"gathered {evaluation_set.name}: {len(questions)} questions", file=sys.stderr)
    return windows


def report(windows: list[Window], l2: float) -> str:
    """Per set: the fused order and the ranker out of fold, then held-out totals."""
    rankers = fold_rankers(windows, l2)
    lines = ["| set | windows | fused hit@1 | hit@5 | MRR@10 | ranker (out of fold) hit@1 "
             "| hit@5 | MRR@10 |", "|---|---|---|---|---|---|---|---|"]
    groups = {"out of fold": lambda w: w.fold != HELD_OUT,
              "held-out totals": lambda w: w.fold == HELD_OUT}
    for label, keep in groups.items():
        for name in dict.fromkeys(w.set_name for w in windows):
            chosen = [w for w in windows if w.set_name == name and keep(w)]
            before, after = window_figures(chosen, {}), window_figures(chosen, rankers)
            lines.append(f"| {name} ({label}) | {len(chosen)} | {before['hit@1']:.3f} | "
                         f"{before['hit@5']:.3f} | {before['mrr@10']:.4f} | "
                         f"{after['hit@1']:.3f} | {after['hit@5']:.3f} | "
                         f"{after['mrr@10']:.4f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse", action="store_true",
                        help=f"refit from {WINDOWS.relative_to(ROOT)} without searching")
    parser.add_argument("--l2", type=float, default=L2, help="L2 penalty of the fit")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the fitted file")
    parser.add_argument("--dry-run", action="store_true", help="report without writing")
    args = parser.parse_args()
    if args.reuse:
        windows = load_windows(WINDOWS)
    else:
        windows = search_all()
        if not args.dry_run:
            save_windows(windows, WINDOWS)
    print(report(windows, args.l2))
    ranker = fold_rankers(windows, args.l2)[HELD_OUT]
    payload = ranker.to_json() | {"fitted": {
        "on": "every evaluation set's windows (tests/data/ranker-training.npz) outside the "
              "held-out fold", "l2": args.l2, "windows": sum(w.fold != HELD_OUT for w in windows),
        "date": date.today().isoformat(),
        "refit": "PYTHONPATH=. .venv/bin/python scripts/fit_ranker.py --reuse"}}
    print(json.dumps(payload, indent=2))
    if not args.dry_run:
        args.output.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
