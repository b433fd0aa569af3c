"""A set asked as served, with the learned ranker (and the learned answer scorer) out of
fold: each question is searched with the model fitted without its document's fold (the
held-out fold's questions with the one fitted on every training fold, which is the
shipped one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from service.abstention import ANSWERABLE, Observed, answerable_split, observe
from service.evalsets.folds import question_fold
from service.evalsets.registry import EvaluationSet
from service.evalsets.report import SetResult, set_questions
from service.evaluation import AnswerOutcome, ModeScore, answer_outcomes, evaluate
from service.retrieval.ranker import LinearRanker
from service.retrieval.search import DEFAULT_MODE, Searcher
from service.retrieval.sentence_scorer import AnswerScorer


@contextmanager
def ranking_with(searcher: Searcher, ranker: LinearRanker | None,
                 scorer: AnswerScorer | None = None) -> Iterator[None]:
    """The searcher with this ranker, and this answer scorer when one is given."""
    saved, saved_scorer = searcher.learned, searcher.answer_model
    searcher.learned = ranker
    searcher.answer_model = scorer or saved_scorer
    try:
        yield
    finally:
        searcher.learned, searcher.answer_model = saved, saved_scorer


class Fitted:
    """Each fold's ranker and answer scorer; a model not given stays the searcher's."""

    def __init__(self, searcher: Searcher, rankers: dict[int, LinearRanker] | None,
                 scorers: dict[int, AnswerScorer] | None = None) -> None:
        self.searcher, self.rankers, self.scorers = searcher, rankers, scorers or {}

    def of(self, fold: int) -> AbstractContextManager[None]:
        ranker = self.rankers[fold] if self.rankers else self.searcher.learned
        return ranking_with(self.searcher, ranker, self.scorers.get(fold))


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
                        rankers: dict[int, LinearRanker] | None,
                        scorers: dict[int, AnswerScorer] | None = None) -> SetResult:
    """report.run_set, each question ranked (and answered) by the models that never saw
    its document."""
    fitted = Fitted(searcher, rankers, scorers)
    questions, unanswerable = set_questions(evaluation_set)
    scores: list[ModeScore] = []
    answers: list[AnswerOutcome] = []
    observed: list[Observed] = []
    for position, question in enumerate(questions):
        with fitted.of(question_fold(question.relevant, question.id)):
            scores.append(evaluate(searcher, [question], DEFAULT_MODE))
            answers += answer_outcomes(searcher, [question])
            observed.append(observe(searcher, question.question, question.id, ANSWERABLE,
                                    answerable_split(position), question))
    for item in unanswerable:
        with fitted.of(question_fold((), item.id)):
            observed.append(observe(searcher, item.question, item.id, item.kind, item.split))
    return SetResult(evaluation_set.name, len(searcher.documents), questions, unanswerable,
                     merged(scores, DEFAULT_MODE), answers, observed, searcher.calibration)
