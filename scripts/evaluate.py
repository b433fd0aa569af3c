#!/usr/bin/env python
"""Evaluate retrieval quality for every search mode over a JSONL question set, and answer
recall: how often the chat answer quotes each question's answer span. Without --questions,
evaluate every set (service/evalsets/registry.py) and their union as one table."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from service.abstention import (
    Observed,
    abstention_rows,
    format_abstention,
    load_unanswerable,
    observe_all,
)
from service.embedding import BACKENDS, Embedder, make_embedder
from service.evalsets.calibration_fit import fit as calibrate_fit
from service.evalsets.doubt_fit import fit_doubt
from service.evalsets.folds import HELD_OUT, question_fold, visible_misses
from service.evalsets.suite import evaluate_all
from service.evaluation import (
    AnswerOutcome,
    ModeScore,
    Question,
    answer_outcomes,
    answer_rows,
    evaluate,
    format_answer_table,
    format_table,
    load_questions,
    prepare_searcher,
)
from service.retrieval.coverage import Calibration
from service.retrieval.search import Searcher, SearchOptions

ROOT = Path(__file__).resolve().parent.parent


def search_options(settings: list[str]) -> SearchOptions:
    """The default options with OPTION=VALUE changes, each value read as its field's type."""
    defaults = SearchOptions()
    changes: dict[str, object] = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        if not hasattr(defaults, name) or not value:
            raise ValueError(f"--set {setting!r}: expected OPTION=VALUE with an option of "
                             "SearchOptions")
        kind = type(getattr(defaults, name))
        if kind is bool:
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError(f"--set {setting!r}: {name} takes true or false")
            changes[name] = value.lower() in ("true", "1")
        else:
            changes[name] = kind(value)
    return replace(defaults, **changes)


def options() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, help="JSONL question file, in the project's "
                        "or a development set's format (default: every set and their union)")
    parser.add_argument("--corpus", type=Path, action="append",
                        help="corpus folder; repeat to combine several (default: corpus/)")
    parser.add_argument("--exclude", action="append", default=[],
                        help="leave out corpus files matching this glob (e.g. SOURCES.md)")
    parser.add_argument("--workdir", type=Path, help="where the evaluation index is kept "
                        "(default: .cache/eval/<hash of the corpus folders>)")
    parser.add_argument("--model", help="embedding model (default: all-MiniLM-L6-v2)")
    parser.add_argument("--embedder", choices=BACKENDS, default="sentence-transformers",
                        help="how to embed (default: sentence-transformers, whose vectors the "
                        "served onnx equals; onnx-int8 keeps its own cached indexes)")
    parser.add_argument("--store", default=os.environ.get("PLANSEARCH_STORE", ""),
                        help="the index backend: empty for the embedded store, a "
                        "PLANSEARCH_STORE URL, or `milvus-lite` for a Milvus Lite folder in "
                        "the workdir (default: $PLANSEARCH_STORE, else embedded)")
    parser.add_argument("--unanswerable", type=Path,
                        default=ROOT / "tests" / "data" / "unanswerable.jsonl",
                        help="JSONL of unanswerable questions for the abstention table")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--misses", choices=["none", "default", "all"], default="default",
                        help="print per-question misses for the default mode, all modes or none")
    parser.add_argument("--answers-only", action="store_true",
                        help="skip the retrieval modes and report answer recall only")
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="change a search option for every run, e.g. sentence_weight=0.3 "
                        "or quotable_sentences=false (fields of SearchOptions)")
    return parser


def open_searcher(args: argparse.Namespace, base: SearchOptions) -> Searcher:
    """The evaluation index over the chosen corpora (built or updated), searching with
    `base`."""
    corpora = [c.resolve() for c in (args.corpus or [ROOT / "corpus"])]
    embedder = make_embedder(args.embedder, args.model)
    vectors = str(getattr(embedder, "vectors", ""))  # int8's are not fp32's vectors
    key = hashlib.sha1("|".join(map(str, corpora + [args.store] + ([vectors] if vectors else [])))
                       .encode()).hexdigest()[:10]
    workdir = (args.workdir or ROOT / ".cache" / "eval" / key).resolve()
    store = f"milvus-lite://{workdir / 'milvus.db'}" if args.store == "milvus-lite" else args.store
    started = time.perf_counter()
    searcher = prepare_searcher(corpora, workdir, embedder, tuple(args.exclude), store)
    searcher.options = base  # the answer and abstention tables search with them too
    print(f"index ready in {time.perf_counter() - started:.1f} s ({store or 'embedded store'})")
    return searcher


Scores = list[ModeScore]


def retrieval_scores(searcher: Searcher, questions: list[Question], base: SearchOptions,
                     answers_only: bool) -> tuple[Scores, Scores, Scores]:
    """Scores for every mode; for the area-tagged questions with and without the area
    boost; and hybrid by the kind of document that answers (PDF or text)."""
    if answers_only:
        return [], [], []
    runs = [("dense", "dense", base), ("keyword", "keyword", base), ("hybrid", "hybrid", base),
            ("hybrid+rerank", "hybrid+rerank", base),
            ("hybrid, no area boost", "hybrid", replace(base, area_boost=0.0)),
            ("hybrid, no synonyms", "hybrid", replace(base, synonyms=False)),
            ("hybrid, RRF fusion", "hybrid", replace(base, fusion="rrf"))]
    scores = [evaluate(searcher, questions, mode, options, label)
              for label, mode, options in runs]
    area_questions = [q for q in questions if "area" in q.tags]
    area_scores = [evaluate(searcher, area_questions, mode, options, label)
                   for label, mode, options in runs
                   if label in ("hybrid", "hybrid, no area boost")] if area_questions else []
    # questions answered by PDFs and by web text separately: PDFs are where ranking is hardest
    by_source = [(f"hybrid, {kind} questions ({len(group)})", group) for kind, group in (
        ("PDF", [q for q in questions if any(r.lower().endswith(".pdf") for r in q.relevant)]),
        ("text", [q for q in questions if not any(r.lower().endswith(".pdf")
                                                  for r in q.relevant)])) if group]
    source_scores = [evaluate(searcher, group, "hybrid", base, label)
                     for label, group in by_source] if len(by_source) > 1 else []
    return scores, area_scores, source_scores


def print_retrieval(scores: Scores, area_scores: Scores,
                    source_scores: Scores, title: str, area_count: int) -> None:
    """The retrieval tables, and how often the cited page holds the answer."""
    if scores:
        print(format_table(scores, title))
    if area_scores:
        print()
        print(format_table(area_scores, f"the {area_count} questions tagged 'area' "
                                        "(they name a place)"))
    if source_scores:
        print()
        print(format_table(source_scores, "by the kind of document that answers"))
    hybrid = next((s for s in scores if s.mode == "hybrid"), None)
    if hybrid is not None and hybrid.pages_checked:
        print(f"hybrid: the cited page range holds the answer's labelled page for "
              f"{hybrid.pages_right} of {hybrid.pages_checked} found answers; the link "
              f"opens that page for {hybrid.pages_opened}")


def print_abstention(searcher: Searcher, questions: list[Question],
                     unanswerable: Path) -> dict[str, Any]:
    """The abstention tables of both parts, returned for the JSON."""
    observed = observe_all(searcher, questions, load_unanswerable(unanswerable))
    abstention = {split: abstention_rows(observed, searcher.calibration, split)
                  for split in ("tune", "held-out")}
    for split, rows in abstention.items():
        print()
        print(format_abstention(rows, f"Abstention, {split} part (every other question; "
                                      "scripts/calibrate.py fits on the tune part)"))
    return abstention


def print_misses(scores: Scores, outcomes: list[AnswerOutcome], misses: str,
                 folds: dict[str, int]) -> None:
    """Per-question misses at rank 1, and answers that miss a span their sources hold;
    never those of the held-out fold, which is read only as totals."""
    for score in scores:
        if misses == "all" or (misses == "default" and score.mode == "hybrid"):
            shown, withheld = visible_misses(score.misses, folds)
            print(f"\nMisses at rank 1 for {score.mode} ({len(shown)}; {withheld} more in "
                  "the held-out fold, never shown):")
            for miss in shown:
                print(f"  {miss['id']} rank={miss['rank']} {miss['question']!r} "
                      f"hint={miss['hint']!r} {miss['interpreted'] or ''}")
                for line in miss["top"]:
                    print(f"      {line}")
    if misses != "none":
        missed = [o for o in outcomes if o.shown and not o.answered
                  and folds[o.question.id] != HELD_OUT]
        print(f"\nAnswers that miss a span their sources contain ({len(missed)}):")
        for outcome in missed:
            print(f"  {outcome.question.id} {outcome.question.question!r} "
                  f"hint={outcome.question.answer_hint!r}\n      {outcome.text}")


def main() -> int:
    """Print every table, then the results as one JSON line (and to --json)."""
    parser = options()
    args = parser.parse_args()
    try:
        base = search_options(args.set)
    except ValueError as error:
        parser.error(str(error))
    if args.questions is None:
        if args.store == "milvus-lite" or args.workdir:
            parser.error("--store milvus-lite and --workdir need --questions: every set "
                         "keeps its own index under .cache/eval/")
        return evaluate_every_set(args, base)
    searcher = open_searcher(args, base)
    questions = load_questions(args.questions)
    scores, area_scores, source_scores = retrieval_scores(searcher, questions, base,
                                                          args.answers_only)
    outcomes = answer_outcomes(searcher, questions)
    answers = answer_rows(outcomes)
    title = f"{args.questions.name}: {len(questions)} questions, " \
            f"{len(searcher.documents)} documents, {searcher.generation.chunk_count} chunks"
    print_retrieval(scores, area_scores, source_scores, title,
                    sum(1 for q in questions if "area" in q.tags))
    abstention = print_abstention(searcher, questions, args.unanswerable)
    if searcher.reranker is None:
        print("hybrid+rerank: no cross-encoder is available offline, so the rerank stage "
              "re-scores the top 30 by their best sentence's similarity (stored sentence "
              "vectors); set PLANSEARCH_RERANKER to a local cross-encoder folder to use one")
    print()
    print(format_answer_table(answers, f"answer recall ({title}; hybrid, as POST /api/chat; "
                                       "conditional: over questions whose top-5 sources "
                                       "contain the span)"))
    folds = {q.id: question_fold(q.relevant, q.id) for q in questions}
    print_misses(scores, outcomes, args.misses, folds)
    payload = {"questions": str(args.questions), "count": len(questions),
               "modes": [s.row() for s in scores],
               "area_questions": [s.row() for s in area_scores],
               "by_source": [s.row() for s in source_scores], "answers": answers,
               "abstention": abstention}
    print("\n" + json.dumps(payload))
    if args.json:
        shown = {s.mode: visible_misses(s.misses, folds)[0] for s in scores}
        args.json.write_text(json.dumps({**payload, "misses": shown}, indent=2))
    return 0


def fit_calibration(observed: list[Observed]) -> Calibration:
    """calibrate.py's fit on every question given (it fits the tune part only), and the
    verdict's doubt model fit_verdict.py fits, over that calibration's relevance."""
    calibration = calibrate_fit([replace(o, split="tune") for o in observed])[0]
    return replace(calibration, doubt=fit_doubt(observed, calibration))


def evaluate_every_set(args: argparse.Namespace, options: SearchOptions) -> int:
    """Every set in its own index and the union in one, as one table."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    embedder: Embedder = make_embedder(args.embedder, args.model)
    text, payload = evaluate_all(ROOT, embedder, fit_calibration,
                                 args.store, args.misses != "none", options)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
