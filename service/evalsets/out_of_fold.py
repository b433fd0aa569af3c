"""A set asked as served, with the learned ranker out of fold: each question is searched
with the ranker fitted without its document's fold (the held-out fold's questions with
the one fitted on every training fold, which is the shipped one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from service.abstention import ANSWERABLE, Observed, answerable_split, observe
from service.evalsets.folds import question_fold
from service.evalsets.registry import EvaluationSet
from service.evalsets.report import SetResult, set_questions
from service.evaluation import AnswerOutcome, ModeScore, answer_outcomes, evaluate
from service.retrieval.ranker import LinearRanker
from service.retrieval.search import DEFAULT_MODE, Searcher


@contextmanager
def ranking_with(searcher: Searcher, ranker: LinearRanker | None) -> Iterator[None]:
    saved = searcher.learned
    searcher.learned = ranker
    try:
        yield
    finally:
        searcher.learned = saved


def merged(scores: list[ModeScore], label: str) -> ModeScore:
    """One question's scores summed into the set's (each ModeScore here is of one)."""
    total = ModeScore(label)
    for score in scores:
        total.hit1 += score.hit1
        total.hit5 += score.hit5
        total.mrr10 += score.mrr10
        total.doc_recall5 += score.doc_recall5
        total.pages_checked += score.pages_checked
        total.pages_right += score.pages_right
        total.pages_opened += score.pages_opened
        total.misses += score.misses
    count = max(len(scores), 1)
    total.hit1, total.hit5 = total.hit1 / count, total.hit5 / count
    total.mrr10, total.doc_recall5 = total.mrr10 / count, total.doc_recall5 / count
    return total


def run_set_out_of_fold(evaluation_set: EvaluationSet, searcher: Searcher,
                        rankers: dict[int, LinearRanker]) -> SetResult:
    """report.run_set, each question ranked by the model that never saw its document."""
    questions, unanswerable = set_questions(evaluation_set)
    scores: list[ModeScore] = []
    answers: list[AnswerOutcome] = []
    observed: list[Observed] = []
    for position, question in enumerate(questions):
        with ranking_with(searcher, rankers[question_fold(question.relevant, question.id)]):
            scores.append(evaluate(searcher, [question], DEFAULT_MODE))
            answers += answer_outcomes(searcher, [question])
            observed.append(observe(searcher, question.question, question.id, ANSWERABLE,
                                    answerable_split(position), question))
    for item in unanswerable:
        with ranking_with(searcher, rankers[question_fold((), item.id)]):
            observed.append(observe(searcher, item.question, item.id, item.kind, item.split))
    return SetResult(evaluation_set.name, len(searcher.documents), questions, unanswerable,
                     merged(scores, DEFAULT_MODE), answers, observed, searcher.calibration)
