"""Whether the passages shown hold the answer at all, judged from the whole result list.

The calibrated relevance says how close each passage is to the question; it cannot tell a
close passage that answers from a close passage that does not. Features of the list as a
whole can: how far the first passage stands above the fifth, whether the dense and the
keyword retrievers agree on what they found, how close the best sentence is, how many
documents the five come from. A logistic model over these gives the probability that the
top five hold the answer; below its threshold, a verdict that would say `answered` says
`weak`. Its parameters live in `service/data/verdict_doubt.json`, which
`scripts/fit_verdict.py` fits out of fold by document.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from service.retrieval.questions import holds_answer, question_type

# a passage as typed_passages reads it: its text, and its sentences' (span, similarity),
# best first (a Hit's text and sentences; results.py imports this module, not the reverse)
Passage = tuple[str, Sequence[tuple[tuple[int, int], float]]]

# what a model may read, each the same for every question; a fitted model names its own
FEATURES = ("best_relevance", "relevance_margin", "best_cosine", "cosine_margin",
            "top_coverage", "best_coverage", "agreement", "top_in_both", "best_sentence",
            "documents", "topic_words", "relevance_over_mean", "coverage_over_mean",
            "type_in_first", "type_share")
AGREEMENT_DEPTH = 10  # how deep the dense and keyword lists are compared
SHOWN = 5  # the passages judged: the API's default k, whatever k a caller asks for
DOUBT_FILE = "data/verdict_doubt.json"


@dataclass(frozen=True)
class ListSignals:
    """What the verdict model needs from a search besides each passage's two features:
    the retrievers' agreement and the best sentence (0..1), the share of distinct
    documents among the passages shown, and how many topic words the question has."""

    agreement: float
    top_in_both: float
    best_sentence: float | None  # None when the search did not score sentences
    documents: float
    topic_words: int
    # for a question that asks for a kind of thing (questions.py: an amount, a date, a
    # body...), whether the first passage's best sentences hold one, and the share of the
    # passages whose do; 1.0 for a question that asks for no kind
    type_in_first: float = 1.0
    type_share: float = 1.0

    def to_list(self) -> list[float]:
        sentence = -1.0 if self.best_sentence is None else self.best_sentence
        return [self.agreement, self.top_in_both, sentence, self.documents,
                float(self.topic_words), self.type_in_first, self.type_share]

    @classmethod
    def from_list(cls, values: Sequence[float]) -> ListSignals:
        sentence = None if values[2] < 0 else float(values[2])
        return cls(float(values[0]), float(values[1]), sentence, float(values[3]),
                   int(values[4]), *map(float, values[5:7]))


def list_signals(hit_chunks: Sequence[Sequence[int]], hit_documents: Sequence[str],
                 best_sentences: Sequence[float | None], dense: Sequence[tuple[int, float]],
                 keyword: Sequence[tuple[int, float]], topic_words: int,
                 typed: Sequence[bool] | None = None) -> ListSignals:
    """The signals of one result list: `hit_chunks` are each passage's chunk ids, in rank
    order; `dense` and `keyword` each retriever's ranked (chunk id, score) list; `typed`,
    for a question that asks for a kind of thing, whether each passage's best sentences
    hold one."""
    hit_chunks, hit_documents = hit_chunks[:SHOWN], hit_documents[:SHOWN]
    best_sentences = best_sentences[:SHOWN]
    dense_top = {chunk for chunk, _ in dense[:AGREEMENT_DEPTH]}
    keyword_top = {chunk for chunk, _ in keyword[:AGREEMENT_DEPTH]}
    agreement = len(dense_top & keyword_top) / AGREEMENT_DEPTH
    first = set(hit_chunks[0]) if hit_chunks else set()
    in_both = float(bool(first & dense_top) and bool(first & keyword_top))
    sentences = [s for s in best_sentences if s is not None]
    documents = len(set(hit_documents)) / len(hit_documents) if hit_documents else 1.0
    kinds = list(typed[:SHOWN]) if typed is not None else []
    return ListSignals(agreement, in_both, max(sentences) if sentences else None, documents,
                       topic_words, float(kinds[0]) if kinds else 1.0,
                       sum(kinds) / len(kinds) if kinds else 1.0)


def feature_vector(relevance: Sequence[float], pairs: np.ndarray, signals: ListSignals
                   ) -> np.ndarray:
    """FEATURES for one question: `relevance` is each shown passage's calibrated
    relevance and `pairs` its (cosine, topic-word coverage), in rank order."""
    relevance, pairs = relevance[:SHOWN], pairs[:SHOWN]
    if len(relevance) == 0:
        return np.zeros(len(FEATURES))
    cosines, coverage = pairs[:, 0], pairs[:, 1]
    sentence = signals.best_sentence if signals.best_sentence is not None \
        else float(cosines.max())  # no sentence scores: the passage's own similarity
    return np.array([max(relevance), relevance[0] - relevance[-1], cosines.max(),
                     cosines[0] - cosines[-1], coverage[0], coverage.max(),
                     signals.agreement, signals.top_in_both, sentence, signals.documents,
                     math.log1p(signals.topic_words), relevance[0] - float(np.mean(relevance)),
                     coverage[0] - coverage.mean(), signals.type_in_first, signals.type_share])


@dataclass(frozen=True)
class Doubt:
    """A standardised logistic model over some of FEATURES: P(the passages shown hold the
    answer)."""

    features: tuple[str, ...]
    intercept: float
    weights: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float  # below this probability an `answered` verdict becomes `weak`

    def confidence(self, features: np.ndarray) -> float:
        """From the full FEATURES vector (feature_vector's)."""
        chosen = features[[FEATURES.index(name) for name in self.features]]
        z = (chosen - np.array(self.mean)) / np.array(self.scale)
        value = self.intercept + float(z @ np.array(self.weights))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, value))))

    def doubts(self, features: np.ndarray) -> bool:
        return self.confidence(features) < self.threshold

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Doubt:
        unknown = set(data["features"]) - set(FEATURES)
        if unknown or len(data["features"]) != len(data["weights"]):
            raise ValueError(f"{DOUBT_FILE} names features this code does not compute "
                             f"({', '.join(sorted(unknown))}): refit it")
        return cls(tuple(data["features"]), float(data["intercept"]),
                   tuple(map(float, data["weights"])), tuple(map(float, data["mean"])),
                   tuple(map(float, data["scale"])), float(data["threshold"]))

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "intercept": round(self.intercept, 5),
                "weights": [round(w, 5) for w in self.weights],
                "mean": [round(m, 5) for m in self.mean],
                "scale": [round(s, 5) for s in self.scale],
                "threshold": round(self.threshold, 5)}


@lru_cache(maxsize=1)
def bundled_doubt() -> Doubt | None:
    """The shipped model, or None when the package has none."""
    path = resources.files("service").joinpath(DOUBT_FILE)
    if not path.is_file():
        return None
    return Doubt.from_dict(json.loads(path.read_text(encoding="utf-8")))


TYPED_SENTENCES = 3  # a passage holds the kind asked for in one of its best sentences


def typed_passages(query: str, passages: Sequence[Passage]) -> list[bool] | None:
    """For a question that asks for a kind of thing, whether each passage's best
    sentences (by similarity) hold one; None for a question that asks for no kind."""
    kind = question_type(query)
    if kind is None:
        return None
    return [any(holds_answer(kind, text[start:end])
                for (start, end), _ in sentences[:TYPED_SENTENCES])
            for text, sentences in passages]
