"""Fitting the verdict's doubt model (service/retrieval/doubt.py) on observed questions,
and the training file that scripts/fit_verdict.py and scripts/calibrate.py refit from:
every set's questions, answerable and not, each observed in its set's own index."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.abstention import (
    ANSWERABLE,
    Observed,
    fit_logistic,
    load_rows,
    observe_all,
    observed_rows,
)
from service.embedding.models import Embedder, SentenceTransformerEmbedder
from service.evalsets.ranker_fit import column_scale
from service.evalsets.registry import all_sets
from service.evalsets.report import open_set, question_folds, set_questions
from service.retrieval.coverage import Calibration
from service.retrieval.doubt import FEATURES, Doubt, feature_vector

log = logging.getLogger(__name__)
TRAINING = Path(__file__).resolve().parents[2] / "tests" / "data" / "verdict-training.json"
L2 = 1.0  # on standardised features
HIT_FLAG_SHARE = 0.06  # of training questions whose top 5 holds the answer: with the
# relevance verdict's own flags, the largest share that keeps the target (≤ 0.10 of
# top-5 hits flagged) out of fold both here and in make eval, which refits the relevance too
# (re-chosen on each new ranking: 0.06 since the answer type, 0.07 flags 0.106 / 0.113)
NEGATIVE_KINDS = ("uncovered",)  # besides answerable top-5 misses: nothing here answers
# chosen by out-of-fold AUC over every set (BENCHMARKS.md): both say how far the first
# passage stands out from the rest; more features fitted worse out of fold
DEFAULT_FEATURES = ("relevance_margin", "coverage_over_mean")


@dataclass(frozen=True)
class Sample:
    """One observed question of one set, with the fold its document falls in."""

    set_name: str
    fold: int
    observed: Observed


def observe_sets(root: Path, embedder: Embedder) -> list[Sample]:
    """Every set's questions (the union's too: its larger library has more top-5 misses)
    observed in the set's cached index, each with its document's fold."""
    samples: list[Sample] = []
    for evaluation_set in all_sets(root):
        searcher = open_set(evaluation_set, root, embedder)
        questions, unanswerable = set_questions(evaluation_set)
        folds = question_folds(questions, unanswerable)
        samples += [Sample(evaluation_set.name, folds[o.id], o)
                    for o in observe_all(searcher, questions, unanswerable)]
        log.info("observed %s: %d + %d questions", evaluation_set.name, len(questions),
                 len(unanswerable))
    return samples


def training_samples(root: Path, reuse: bool, keep: bool) -> list[Sample]:
    """The committed rows (`reuse`), or every set observed anew; `keep` writes new
    observations to the training file and reads them back, so a fit from them is the
    fit a refit from the file gives."""
    if reuse:
        return load_samples()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    samples = observe_sets(root, SentenceTransformerEmbedder())
    if keep:
        save_samples(samples)
        return load_samples()
    return samples


def question_features(item: Observed, calibration: Calibration) -> np.ndarray | None:
    if item.signals is None or not len(item.features):
        return None
    relevance = [calibration.relevance(d, c) for d, c in item.features]
    return feature_vector(relevance, item.features, item.signals)


def fit_doubt(observed: list[Observed], calibration: Calibration, l2: float = L2,
              flag_share: float = HIT_FLAG_SHARE,
              features: tuple[str, ...] = DEFAULT_FEATURES) -> Doubt | None:
    """P(the top five hold the answer), fitted on the answerable questions (is there a
    hit in the top five) and the uncovered topics (never); the threshold flags
    `flag_share` of the answerable questions whose top five do hold it."""
    rows, labels, hits = [], [], []
    for item in observed:
        if item.kind != ANSWERABLE and item.kind not in NEGATIVE_KINDS:
            continue
        chosen = question_features(item, calibration)
        if chosen is None:
            continue
        rows.append(chosen[[FEATURES.index(name) for name in features]])
        labels.append(float(item.kind == ANSWERABLE and item.labels.any()))
        hits.append(labels[-1] == 1.0)
    if not rows or all(labels) or not any(labels):
        return None
    x = np.vstack(rows)
    mean, scale = column_scale(x)
    intercept, weights = fit_logistic((x - mean) / scale, np.array(labels), l2=l2)
    z = (x[np.array(hits)] - mean) / scale @ weights + intercept
    threshold = float(np.quantile(1.0 / (1.0 + np.exp(-z)), flag_share))
    return Doubt(features, intercept, tuple(map(float, weights)), tuple(map(float, mean)),
                 tuple(map(float, scale)), threshold)


def save_samples(samples: list[Sample], path: Path = TRAINING) -> None:
    rows = observed_rows([s.observed for s in samples])
    for row, sample in zip(rows, samples, strict=True):
        row.update({"set": sample.set_name, "fold": sample.fold})
    path.write_text(json.dumps(rows, separators=(",", ":")) + "\n", encoding="utf-8")


def load_samples(path: Path = TRAINING) -> list[Sample]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [Sample(r["set"], r["fold"], o) for r, o in zip(rows, load_rows(rows), strict=True)]
