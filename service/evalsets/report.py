"""Every evaluation set asked in its own index, and the union in one: the one table
`make eval` prints (retrieval, answer recall and abstention per set)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.abstention import (
    ANSWERABLE,
    Observed,
    Unanswerable,
    load_unanswerable,
    observe_all,
    status_of,
)
from service.embedding.models import Embedder
from service.evalsets.folds import HELD_OUT, fold_of, question_fold
from service.evalsets.registry import EvaluationSet
from service.evaluation import (
    AnswerOutcome,
    ModeScore,
    Question,
    answer_outcomes,
    evaluate,
    load_questions,
    prepare_searcher,
)
from service.retrieval.coverage import Calibration
from service.retrieval.search import DEFAULT_MODE, Searcher

FLAGGED = ("weak", "not_found")


@dataclass
class SetResult:
    """One set asked in its own index: what the table and the cross-validation read."""

    name: str
    documents: int
    questions: list[Question]
    unanswerable: list[Unanswerable]
    retrieval: ModeScore
    answers: list[AnswerOutcome]
    observed: list[Observed]
    calibration: Calibration

    def folds(self) -> dict[str, int]:
        """Each question's fold, answerable or not, by id."""
        return question_folds(self.questions, self.unanswerable)


def question_folds(questions: list[Question], unanswerable: list[Unanswerable]
                   ) -> dict[str, int]:
    """Each question's fold by id: an answerable one goes with its document, an
    unanswerable one by its id."""
    folds = {q.id: question_fold(q.relevant, q.id) for q in questions}
    return folds | {u.id: question_fold((), u.id) for u in unanswerable}


def set_questions(evaluation_set: EvaluationSet) -> tuple[list[Question], list[Unanswerable]]:
    """The set's questions from all its files, and the unanswerable ones of kinds that
    stay unanswerable in its library."""
    questions = [q for path in evaluation_set.questions for q in load_questions(path)]
    unanswerable = [u for path in evaluation_set.unanswerable for u in load_unanswerable(path)
                    if u.kind in evaluation_set.unanswerable_kinds]
    # the project's sets share one unanswerable file: ask each of its questions once
    return questions, list({u.id: u for u in unanswerable}.values())


def open_set(evaluation_set: EvaluationSet, root: Path, embedder: Embedder,
             store: str = "") -> Searcher:
    """The set's index, built (or brought up to date) in its cache folder."""
    vectors = str(getattr(embedder, "vectors", ""))  # fp32's vectors share one cache
    return prepare_searcher([c.resolve() for c in evaluation_set.corpora],
                            evaluation_set.workdir(root, store, vectors), embedder,
                            evaluation_set.exclude, store)


def run_set(evaluation_set: EvaluationSet, searcher: Searcher) -> SetResult:
    """Ask the set's questions in the default mode, as a chat, and for the verdict."""
    questions, unanswerable = set_questions(evaluation_set)
    return SetResult(evaluation_set.name, len(searcher.documents), questions, unanswerable,
                     evaluate(searcher, questions, DEFAULT_MODE),
                     answer_outcomes(searcher, questions),
                     observe_all(searcher, questions, unanswerable), searcher.calibration)


def share(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def abstention_figures(observed: list[Observed], status: dict[str, str]) -> dict[str, Any]:
    """Answerable questions marked not_found and flagged, unanswerable ones flagged, given
    each question's verdict by id."""
    answerable = [status[o.id] for o in observed if o.kind == ANSWERABLE]
    uncovered = [status[o.id] in FLAGGED for o in observed if o.kind == "uncovered"]
    other = [status[o.id] in FLAGGED for o in observed
             if o.kind not in (ANSWERABLE, "uncovered")]
    return {"answerable_not_found": share([s == "not_found" for s in answerable]),
            "answerable_flagged": share([s in FLAGGED for s in answerable]),
            "uncovered_flagged": share(uncovered), "off_topic_or_no_area_flagged": share(other)}


def result_row(result: SetResult, label: str | None = None) -> dict[str, Any]:
    """The table's figures for one set; a figure with no question behind it is None."""
    asked = bool(result.questions)
    shown = [a.answered for a in result.answers if a.shown]
    return {"set": label or result.name, "documents": result.documents,
            "questions": len(result.questions), "unanswerable": len(result.unanswerable),
            "hit@1": result.retrieval.hit1 if asked else None,
            "hit@5": result.retrieval.hit5 if asked else None,
            "mrr@10": result.retrieval.mrr10 if asked else None,
            "answer_recall": share([a.answered for a in result.answers]),
            "answer_recall_top5": share(shown),
            **abstention_figures(result.observed, {o.id: status_of(o, result.calibration)
                                                   for o in result.observed})}


def held_out_totals(result: SetResult, searcher: Searcher) -> dict[str, Any]:
    """The set's row over its held-out fold only (its documents, and the questions they
    answer): totals, never its questions."""
    folds = result.folds()
    kept = [q for q in result.questions if folds[q.id] == HELD_OUT]
    documents = sum(fold_of(d.path) == HELD_OUT for d in searcher.documents.values())
    part = SetResult(result.name, documents, kept,
                     [u for u in result.unanswerable if folds[u.id] == HELD_OUT],
                     evaluate(searcher, kept, DEFAULT_MODE),
                     [a for a in result.answers if folds[a.question.id] == HELD_OUT],
                     [o for o in result.observed if folds[o.id] == HELD_OUT],
                     result.calibration)
    return result_row(part, f"{result.name}, held-out fold (totals)")


COLUMNS = [("set", "set", "{:<32}"), ("documents", "docs", "{:>4}"),
           ("questions", "q", "{:>3}"), ("unanswerable", "unans", "{:>5}"),
           ("hit@1", "hit@1", "{:.3f}"), ("hit@5", "hit@5", "{:.3f}"),
           ("mrr@10", "MRR@10", "{:.4f}"), ("answer_recall", "answer", "{:.3f}"),
           ("answer_recall_top5", "answer given top-5", "{:.3f}"),
           ("answerable_not_found", "answerable not_found", "{:.3f}"),
           ("answerable_flagged", "answerable flagged", "{:.3f}"),
           ("uncovered_flagged", "uncovered flagged", "{:.3f}"),
           ("off_topic_or_no_area_flagged", "off-topic/no-area flagged", "{:.3f}")]


def format_sets_table(rows: list[dict[str, Any]], title: str) -> str:
    """A Markdown table, one row per set; a figure with no questions behind it is '-'."""
    lines = [title, "| " + " | ".join(header for _, header, _ in COLUMNS) + " |",
             "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for row in rows:
        cells = ["-" if row[key] is None else form.format(row[key]) for key, _, form in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
