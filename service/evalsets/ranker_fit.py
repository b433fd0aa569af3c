"""Fitting the learned ranker (service/retrieval/ranker.py): each question's ranking
window as a feature table with labels (the chunks that hold its answer span), a
logistic fit over pairs (an answer chunk against a non-answer of the same question), and
cross-validation by document over every set."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from service.abstention import fit_logistic
from service.evalsets.folds import FOLDS, HELD_OUT, question_fold
from service.evaluation import Question, is_hit
from service.retrieval.features import FEATURES
from service.retrieval.ordering import APPARATUS
from service.retrieval.passages import Candidate
from service.retrieval.ranker import LinearRanker, reorder
from service.retrieval.search import Searcher

WINDOWS = Path(__file__).resolve().parents[2] / "tests" / "data" / "ranker-training.npz"
Model = TypeVar("Model")
L2 = 1.0  # on standardised features; pairs are many and alike, so a firm prior helps


@dataclass(frozen=True)
class Window:
    """One question's ranking window in one set's index."""

    set_name: str
    question_id: str
    fold: int
    table: np.ndarray  # candidates x FEATURES, in fused order
    labels: np.ndarray  # 1 where the chunk holds the answer span


def gather(set_name: str, searcher: Searcher, questions: list[Question]) -> list[Window]:
    """Search each question as served (hybrid) and keep its window's features."""
    windows: list[Window] = []
    log: list[tuple[str, list[int], np.ndarray]] = []
    searcher.feature_log = log
    learned = replace(searcher.options, ranker="learned")
    try:
        for question in questions:
            log.clear()
            # the window's features are computed (and logged) only on the learned path,
            # before the model orders them: the default hand-set order never logs
            searcher.search(question.question, k=10, mode="hybrid", highlight=False,
                            options=learned)
            if not log:
                continue
            _, ids, table = log[-1]
            rows = searcher.generation.chunks(ids)
            labels = np.array([i in rows and is_hit(
                question, searcher.documents[rows[i].doc_id].path, rows[i].text)
                for i in ids], dtype=np.int8)
            windows.append(Window(set_name, question.id,
                                  question_fold(question.relevant, question.id),
                                  table, labels))
    finally:
        searcher.feature_log = None
    return windows


def save_windows(windows: list[Window], path: Path,
                 features: tuple[str, ...] = FEATURES) -> None:
    """Every question's candidate table and labels in one file (the answer scorer's
    candidates use the same layout, with their own feature names)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path, features=np.array(features),
        table=np.vstack([w.table for w in windows]).astype(np.float32),
        labels=np.concatenate([w.labels for w in windows]),
        sizes=np.array([len(w.labels) for w in windows]),
        sets=np.array([w.set_name for w in windows]),
        ids=np.array([w.question_id for w in windows]),
        folds=np.array([w.fold for w in windows]))


def load_windows(path: Path, features: tuple[str, ...] = FEATURES,
                 refit: str = "scripts/fit_ranker.py") -> list[Window]:
    data = np.load(path)
    if tuple(data["features"]) != features:
        raise ValueError(f"{path} holds other features than this code computes; gather "
                         f"again ({refit} without --reuse)")
    ends = np.cumsum(data["sizes"])
    starts = ends - data["sizes"]
    return [Window(str(s), str(q), int(f), data["table"][a:b], data["labels"][a:b])
            for s, q, f, a, b in zip(data["sets"], data["ids"], data["folds"], starts, ends,
                                     strict=True)]


class Labelled(Protocol):
    """One question's candidates: a feature table and 1 where a candidate answers."""

    @property
    def table(self) -> np.ndarray: ...
    @property
    def labels(self) -> np.ndarray: ...


def column_scale(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and spread (a constant column keeps 1): what a model on
    standardised features subtracts and divides by."""
    mean, scale = table.mean(axis=0), table.std(axis=0)
    scale[scale < 1e-6] = 1.0
    return mean, scale


def standardised(groups: Sequence[Labelled]) -> tuple[np.ndarray, np.ndarray]:
    """The mean and spread of every candidate's features."""
    return column_scale(np.vstack([g.table for g in groups]))


def pairs(groups: Sequence[Labelled], mean: np.ndarray, scale: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """Within each question, differences answer - non-answer (label 1) and their negations
    (label 0): a pairwise logistic fit on these learns to order, not to calibrate."""
    differences = []
    for group in groups:
        table = (group.table - mean) / scale
        good, bad = table[group.labels == 1], table[group.labels == 0]
        if len(good) and len(bad):
            differences.append((good[:, None, :] - bad[None, :, :]).reshape(-1, table.shape[1]))
    if not differences:
        raise ValueError("no question has both an answer and a non-answer to learn from")
    x = np.vstack(differences)
    return np.vstack([x, -x]), np.concatenate([np.ones(len(x)), np.zeros(len(x))])


def fit(windows: list[Window], l2: float = L2) -> LinearRanker:
    """A pairwise logistic ranker on the windows' standardised features."""
    mean, scale = standardised(windows)
    x, y = pairs(windows, mean, scale)
    _, weights = fit_logistic(x, y, l2=l2)  # symmetric pairs: the intercept is ~0
    return LinearRanker(FEATURES, mean.astype(np.float32), scale.astype(np.float32),
                        weights.astype(np.float32), 0.0)


def first_answer(window: Window, ranker: LinearRanker | None) -> int | None:
    """The 1-based rank of the first answer chunk once the ranker orders the window."""
    order = list(range(len(window.labels)))
    if ranker is not None:
        apparatus = [bool(row.any()) for row in window.table[:, APPARATUS] > 0]
        ranked = reorder([Candidate(i, 0.0) for i in order], ranker.score(window.table),
                         apparatus)
        order = [c.chunk_id for c in ranked]
    return next((rank for rank, i in enumerate(order, start=1) if window.labels[i]), None)


def window_figures(windows: list[Window], ranker_of: dict[int, LinearRanker | None]
                   ) -> dict[str, float]:
    """Chunk-level hit@1, hit@5 and MRR@10 in the windows (a proxy: passages merge
    neighbouring chunks, so scripts/fit_ranker.py also reports the served figures)."""
    ranks = [first_answer(w, ranker_of.get(w.fold)) for w in windows]
    count = max(len(ranks), 1)
    return {"questions": len(ranks),
            "hit@1": sum(r == 1 for r in ranks) / count,
            "hit@5": sum(r is not None and r <= 5 for r in ranks) / count,
            "mrr@10": sum(1 / r for r in ranks if r is not None and r <= 10) / count}


def per_fold(windows: list[Window], fit_one: Callable[[list[Window]], Model]
             ) -> dict[int, Model]:
    """One model per fold, fitted without that fold; the held-out fold's is fitted on
    every training fold (and is the one shipped)."""
    training = [w for w in windows if w.fold != HELD_OUT]
    models = {f: fit_one([w for w in training if w.fold != f]) for f in range(FOLDS)}
    models[HELD_OUT] = fit_one(training)
    return models


def fold_rankers(windows: list[Window], l2: float = L2) -> dict[int, LinearRanker]:
    return per_fold(windows, lambda training: fit(training, l2))
