"""What the extractive answer costs: CPU time of `extractive_answer` on each question's
cached top-5 hits, the least of several runs per question, p50 over the questions, for
this tree and for an earlier commit's answer module side by side. The hits come from the
same evaluation index as scripts/evaluate.py, so both answers read identical passages.

    PYTHONPATH=. .venv/bin/python scripts/answer_cost.py --against HEAD \
        --questions tests/data/plans-eval.jsonl --corpus corpus --corpus ../shared/pdfs \
        --exclude SOURCES.md --workdir /tmp/answer-eval/plans
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.embedding.models import SentenceTransformerEmbedder
from service.evaluation import load_questions, prepare_searcher
from service.retrieval.answer import extractive_answer
from service.retrieval.chat import Turn, standalone_query
from service.retrieval.results import Hit
from service.retrieval.search import DEFAULT_MODE

ROOT = Path(__file__).resolve().parent.parent

Answerer = Callable[[str, list[Hit]], Any]


def answerer_at(revision: str, path: str) -> Answerer:
    """`extractive_answer` as the module at `revision` defined it. The first round's took
    only the hits (service/retrieval/chat.py at f1bbe8b)."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:{path}"],
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType(f"answer_at_{revision}")
    sys.modules[module.__name__] = module  # its dataclasses look their module up
    exec(compile(source, f"{revision}:{path}", "exec"), module.__dict__)  # noqa: S102
    function = module.extractive_answer
    if function.__code__.co_varnames[0] == "hits":
        return lambda question, hits: function(hits)
    return function  # type: ignore[no-any-return]


def p50_ms(answer: Answerer, asked: list[tuple[str, list[Hit]]], runs: int) -> float:
    per_question = []
    for query, hits in asked:
        best = float("inf")
        for _ in range(runs):
            started = time.thread_time()
            answer(query, hits)
            best = min(best, time.thread_time() - started)
        per_question.append(best * 1000)
    return statistics.median(per_question)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", default="HEAD", help="git revision to compare with")
    parser.add_argument("--module", default="service/retrieval/answer.py",
                        help="where that revision keeps extractive_answer")
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, action="append", required=True)
    parser.add_argument("--exclude", action="append", default=[])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=7, help="runs per question; least counts")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    args = parser.parse_args()
    searcher = prepare_searcher([c.resolve() for c in args.corpus], args.workdir.resolve(),
                                SentenceTransformerEmbedder(), tuple(args.exclude))
    asked = []
    for question in load_questions(args.questions):
        query = standalone_query([Turn("user", question.question)], searcher.gazetteer)
        asked.append((query, searcher.search(query, 5, DEFAULT_MODE).hits))
    before = answerer_at(args.against, args.module)
    print(f"| round | {args.against} p50 ms | this tree p50 ms |\n|---|---|---|")
    for round_number in range(1, args.rounds + 1):
        print(f"| {round_number} | {p50_ms(before, asked, args.runs):.3f} | "
              f"{p50_ms(extractive_answer, asked, args.runs):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
