"""Whether the plans cover a question: a calibrated relevance for each passage, and a
verdict (answered, weak, not_found) that names the area a question asks about.

The relevance is a logistic function of two features that mean the same for every
question: the passage's cosine similarity to the question, and the share of the
question's topic words found in the passage; and of their product, since finding the
topic's words counts for more in a passage that is also close in meaning ("weather" in
an energy table is not a forecast). Its parameters live in
`service/data/calibration.json`; `scripts/calibrate.py` fits them (see docs/coverage.md).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from service.areas import Gazetteer
from service.retrieval.doubt import Doubt, ListSignals, bundled_doubt, feature_vector
from service.text import GENERIC, STOPWORDS, WORD, stems, strip_places, synonym_stems, text_stems


@dataclass(frozen=True)
class Calibration:
    """A fitted logistic relevance and the two thresholds the verdict uses."""

    intercept: float
    dense_weight: float
    coverage_weight: float
    answered: float  # a best passage at or above this answers the question
    weak: float  # below this, nothing clears the bar: not_found
    interaction_weight: float = 0.0  # of dense * coverage
    # the result-list model that can demote `answered` to `weak` (doubt.py), when fitted
    doubt: Doubt | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        weights = data["weights"]
        return cls(float(data["intercept"]), float(weights["dense"]),
                   float(weights["coverage"]), float(data["thresholds"]["answered"]),
                   float(data["thresholds"]["weak"]), float(weights.get("interaction", 0.0)))

    def relevance(self, dense: float, coverage: float) -> float:
        """P(the passage answers the question), from its two features."""
        z = self.intercept + self.dense_weight * dense + self.coverage_weight * coverage + \
            self.interaction_weight * dense * coverage
        return 1.0 / (1.0 + math.exp(-z))

    def doubts(self, relevance: list[float], pairs: np.ndarray,
               signals: ListSignals | None) -> bool:
        """The result list suggests its passages don't hold the answer (doubt.py)."""
        return self.doubt is not None and signals is not None and \
            self.doubt.doubts(feature_vector(relevance, pairs, signals))


@lru_cache(maxsize=1)
def bundled_calibration() -> Calibration:
    raw = resources.files("service").joinpath("data/calibration.json").read_text(
        encoding="utf-8")
    return replace(Calibration.from_dict(json.loads(raw)), doubt=bundled_doubt())


def topic_terms(query: str, gazetteer: Gazetteer) -> set[str]:
    """The question's topic words as stems: no places, stopwords or generic words."""
    words = [w.lower() for w in WORD.findall(strip_places(query, gazetteer))]
    content = [w for w in words if w not in STOPWORDS and len(w) > 2 or w.isdigit()]
    specific = [w for w in content if w not in GENERIC]
    return stems(specific or content)


def term_coverage(terms: set[str], text: str) -> float:
    """The share of the topic stems that occur in the text, or another phrasing of them
    (1.0 with no topic words)."""
    if not terms:
        return 1.0
    present = text_stems(text)
    alternatives = synonym_stems()
    found = sum(term in present or any(other <= present for other in alternatives.get(term, ()))
                for term in terms)
    return found / len(terms)


@dataclass(frozen=True)
class Coverage:
    status: str  # "answered" | "weak" | "not_found"
    message: str | None
    area: str | None = None
    area_documents: int = 0

    def to_dict(self) -> dict[str, Any]:
        area = {"name": self.area, "documents": self.area_documents} if self.area else None
        return {"status": self.status, "message": self.message, "area": area}


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def names_area(text: str, section: str, area: str, gazetteer: Gazetteer) -> bool:
    """The passage is about the area: a case study about north west London inside a
    national report speaks for that area though its document is about no one area. A
    passage that names it once in a list of trusts or places does not."""
    mentions = [m.area for m in gazetteer.find_mentions(text)]
    return mentions.count(area) >= 2 and gazetteer.detect_document_area(text, section) == area


def verdict(best: float, best_in_area: float, calibration: Calibration, area: str | None,
            area_documents: int, topic: str, mentioned: bool = False,
            doubtful: bool = False) -> Coverage:
    """The coverage verdict from the best passage's relevance overall and, when the
    question names an area, the best relevance among that area's passages (its documents'
    passages, and others' passages that name it). `mentioned`: no document is about the
    area, but a passage shown names it. `doubtful`: the result list as a whole suggests
    the passages shown don't hold the answer (doubt.py)."""
    if area and area_documents == 0 and not mentioned:
        return Coverage("not_found", f"No documents about {area} are indexed. The closest "
                        "passages below are from other areas.", area, 0)
    if area and area_documents == 0 and best_in_area < calibration.answered:
        return Coverage("not_found" if best_in_area < calibration.weak else "weak",
                        f"No documents about {area} are indexed, and the passages that "
                        f"mention {area} don't answer this closely. Check the passages "
                        "below before relying on them.", area, 0)
    if best < calibration.weak:
        where = f" about {area}" if area else ""
        return Coverage("not_found", f"The indexed plans{where} don't cover this question: "
                        "no passage is a close match. The closest passages are listed below.",
                        area, area_documents)
    if area and best_in_area < calibration.weak:
        subject = f"'{topic}'" if topic else "this question"
        return Coverage("weak", f"{area} has {plural(area_documents, 'document')}; none "
                        f"discusses {subject}. The closest passages below are from other "
                        "areas.", area, area_documents)
    # for a question about one area, only that area's passages can answer it
    if (best_in_area if area else best) < calibration.answered:
        return Coverage("weak", "No passage answers this closely; the plans may not cover "
                        "it. Check the closest passages below before relying on them.",
                        area, area_documents)
    if doubtful:
        return Coverage("weak", "These passages are close to the question, but they may not "
                        "answer it. Check them before relying on them.", area, area_documents)
    return Coverage("answered", None, area, area_documents)
