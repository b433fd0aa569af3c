#!/usr/bin/env python
"""Fit the learned answer-sentence scorer and write service/data/answer_scorer.json.

Asks every evaluation set's questions as a chat in that set's index and in the union of
all sets (service/evalsets/registry.py), keeps each question's candidate sentences as
features and labels (tests/data/answer-training.npz), then fits a pairwise logistic
scorer on every fold but the held-out one. Reports answer recall, and answer recall given
a top-5 source holds the span, per set: the hand-set formula, the learned scorer in fold
(fitted on every training fold) and out of fold (by document); the held-out fold as
totals only.

    PYTHONPATH=. .venv/bin/python scripts/fit_answer_scorer.py            # ask, then fit
    PYTHONPATH=. .venv/bin/python scripts/fit_answer_scorer.py --reuse    # refit only
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from datetime import date
from pathlib import Path

from service.embedding.models import SentenceTransformerEmbedder
from service.evalsets.answer_fit import (
    CANDIDATES,
    L2,
    Asked,
    Group,
    ask,
    fold_scorers,
    load,
    recall,
    save,
)
from service.evalsets.folds import HELD_OUT
from service.evalsets.registry import all_sets
from service.evalsets.report import open_set, set_questions
from service.retrieval.sentence_scorer import AnswerScorer

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "service" / "data" / "answer_scorer.json"


def ask_all() -> list[Asked]:
    embedder = SentenceTransformerEmbedder()
    asked: list[Asked] = []
    for evaluation_set in all_sets(ROOT):
        searcher = open_set(evaluation_set, ROOT, embedder)
        questions, _ = set_questions(evaluation_set)
        asked += [ask(evaluation_set.name, searcher, q) for q in questions]
        print(f"asked {evaluation_set.name}: {len(questions)} questions", file=sys.stderr)
    return asked


def report(asked: list[Asked], scorers: dict[int, AnswerScorer]) -> str:
    """Per set: answer recall (given top 5) by the formula, in fold and out of fold."""
    shipped = {fold: scorers[HELD_OUT] for fold in scorers}
    lines = ["| set | questions | hand-set answer (given top-5) | learned in fold | "
             "learned out of fold |", "|---|---|---|---|---|"]
    for name in dict.fromkeys(a.set_name for a in asked):
        inside = [a for a in asked if a.set_name == name and a.fold != HELD_OUT]
        cells = [recall(inside, chosen) for chosen in ({}, shipped, scorers)]
        lines.append(f"| {name} (out of the held-out fold) | {len(inside)} | " + " | ".join(
            f"{c['answer']:.3f} ({c['given_top5']:.3f})" for c in cells) + " |")
    for name in dict.fromkeys(a.set_name for a in asked):
        kept = [a for a in asked if a.set_name == name and a.fold == HELD_OUT]
        before, after = recall(kept, {}), recall(kept, scorers)
        lines.append(f"| {name}, held-out fold (totals) | {len(kept)} | "
                     f"{before['answer']:.3f} ({before['given_top5']:.3f}) | - | "
                     f"{after['answer']:.3f} ({after['given_top5']:.3f}) |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse", action="store_true",
                        help=f"refit from {CANDIDATES.relative_to(ROOT)} without asking")
    parser.add_argument("--l2", type=float, default=L2, help="L2 penalty of the fit")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the fitted file")
    parser.add_argument("--dry-run", action="store_true", help="report without writing")
    parser.add_argument("--asked", type=Path, help="keep the asked questions (hits and all) "
                        "in this file, and read them from it when it exists: refits that "
                        "report answer recall without searching again")
    args = parser.parse_args()
    if args.asked and args.asked.exists():
        asked = pickle.loads(args.asked.read_bytes())  # noqa: S301 (our own file)
    else:
        asked = [] if args.reuse else ask_all()
        if args.asked:
            args.asked.write_bytes(pickle.dumps(asked))
    if asked and not args.dry_run:
        save(asked, CANDIDATES)
        groups = load(CANDIDATES)  # fitted from the file, as the refit is
    else:
        groups = groups_of(asked) if asked else load(CANDIDATES)
    scorers = fold_scorers(groups, args.l2)
    if asked:
        print(report(asked, scorers))
    payload = scorers[HELD_OUT].to_json() | {"fitted": {
        "on": "every evaluation set's candidate sentences (tests/data/answer-training.npz) "
              "outside the held-out fold", "l2": args.l2,
        "questions": sum(g.fold != HELD_OUT for g in groups),
        "date": date.today().isoformat(),
        "refit": "PYTHONPATH=. .venv/bin/python scripts/fit_answer_scorer.py --reuse"}}
    print(json.dumps(payload, indent=2))
    if not args.dry_run:
        args.output.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


def groups_of(asked: list[Asked]) -> list[Group]:
    return [Group(a.set_name, a.question.id, a.fold, a.table, a.labels) for a in asked]


if __name__ == "__main__":
    sys.exit(main())
