"""Fitting the learned answer-sentence scorer (service/retrieval/sentence_scorer.py): each
question's candidate sentences as a feature table with labels (the sentences that hold
its answer span), a logistic fit over pairs (an answering sentence against another of
the same question), and the answer scored out of fold by document over every set."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from service.abstention import fit_logistic
from service.evalsets.folds import question_fold
from service.evalsets.ranker_fit import (
    Window,
    load_windows,
    pairs,
    per_fold,
    save_windows,
    standardised,
)
from service.evaluation import Question, collapse, is_hit
from service.retrieval.answer import candidate_rows
from service.retrieval.chat import OneSearcher, Turn, answer, verdict_answer
from service.retrieval.coverage import Coverage
from service.retrieval.options import DEFAULT_MODE, Filters
from service.retrieval.results import Hit
from service.retrieval.search import Searcher
from service.retrieval.sentence_scorer import FEATURES, AnswerScorer, scores

CANDIDATES = Path(__file__).resolve().parents[2] / "tests" / "data" / "answer-training.npz"
L2 = 1.0  # on standardised features, as the ranker's fit


@dataclass(frozen=True)
class Asked:
    """One question asked as a chat, as served: what its answer is chosen from."""

    set_name: str
    question: Question
    fold: int
    query: str  # the standalone query the answer scored against
    hits: list[Hit]  # the top 5, as the answer saw them
    coverage: Coverage | None
    table: np.ndarray  # candidate sentences x FEATURES
    labels: np.ndarray  # 1 where the sentence holds the answer span

    @property
    def shown(self) -> bool:
        """A top-5 source holds the answer span."""
        return any(is_hit(self.question, h.document.path, h.text) for h in self.hits)

    def answered(self, scorer: AnswerScorer | None) -> bool:
        text = verdict_answer(self.query, self.hits, self.coverage, scorer).text
        return collapse(self.question.answer_hint) in collapse(text)


def ask(set_name: str, searcher: Searcher, question: Question) -> Asked:
    """The question as POST /api/chat answers it, with its candidates' features."""
    chat = answer(OneSearcher(searcher), [Turn("user", question.question)], 5, DEFAULT_MODE,
                  Filters())
    hits, coverage = chat.search_result.hits[:5], chat.search_result.coverage
    hint = collapse(question.answer_hint)
    # as chat.verdict_answer: another area's passage is shown but never quoted
    own_area = [replace(h, sentences=()) if h.other_area else h for h in hits]
    sentences, table = candidate_rows(chat.query_used, own_area)
    labels = np.array([hint in collapse(s.quote) for s in sentences], dtype=np.int8)
    return Asked(set_name, question, question_fold(question.relevant, question.id),
                 chat.query_used, hits, coverage, table, labels)


Group = Window  # one question's candidate sentences as saved: what the fit reads


def save(asked: list[Asked], path: Path) -> None:
    save_windows([Window(a.set_name, a.question.id, a.fold, a.table, a.labels)
                  for a in asked], path, FEATURES)


def load(path: Path) -> list[Group]:
    return [replace(w, table=w.table.astype(np.float64))
            for w in load_windows(path, FEATURES, "scripts/fit_answer_scorer.py")]


def fit(groups: list[Group], l2: float = L2) -> AnswerScorer:
    """A pairwise logistic scorer on the groups' standardised features."""
    table = np.vstack([g.table for g in groups])
    mean, scale = standardised(groups)
    x, y = pairs(groups, mean, scale)
    _, weights = fit_logistic(x, y, l2=l2)  # symmetric pairs: the intercept is ~0
    # in the hand-set formula's units: the same mean and spread over these candidates
    logit = ((table - mean) / scale) @ weights
    hand = np.array(scores(table, None))
    unit = float(hand.std() / max(logit.std(), 1e-9))
    return AnswerScorer(mean, scale, weights, unit, float(hand.mean() - unit * logit.mean()))


def fold_scorers(groups: list[Group], l2: float = L2) -> dict[int, AnswerScorer]:
    """One scorer per fold by document, as the ranker's (ranker_fit.per_fold)."""
    return per_fold(groups, lambda training: fit(training, l2))


def recall(asked: list[Asked], scorer_of: dict[int, AnswerScorer | None]
           ) -> dict[str, float | int]:
    """Answer recall, and given a top-5 source holds the span, each question's answer
    chosen by the scorer of its fold (none: the hand-set formula)."""
    answered = [a.answered(scorer_of.get(a.fold)) for a in asked]
    shown = [hit for hit, a in zip(answered, asked, strict=True) if a.shown]
    return {"questions": len(asked), "answer": sum(answered) / max(len(asked), 1),
            "given_top5": sum(shown) / max(len(shown), 1)}
