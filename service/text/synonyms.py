"""Equivalent phrasings of NHS terms ("A&E" and "accident and emergency", "staffing" and
"workforce"), read from service/data/nhs_terms.json beside the other bundled data. The
keyword search expands a query with them, and the coverage verdict finds a topic word in
a passage that uses another phrasing of it."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from service.text.stems import stems
from service.text.stopwords import STOPWORDS
from service.text.tokens import analysed_words


@lru_cache(maxsize=1)
def synonym_groups() -> list[tuple[str, ...]]:
    """Equivalent phrasings (NHS acronyms and everyday words), normalised like the index."""
    raw = resources.files("service").joinpath("data/nhs_terms.json").read_text(encoding="utf-8")
    return [tuple(" ".join(analysed_words(p)) for p in group)
            for group in json.loads(raw)["groups"]]


def expansions(text: str) -> list[str]:
    """Other phrasings of terms the text uses: "A&E" adds "accident and emergency"."""
    normalised = " " + " ".join(analysed_words(text)) + " "
    found: dict[str, None] = {}
    for group in synonym_groups():
        if any(f" {phrase} " in normalised for phrase in group):
            for phrase in group:
                if f" {phrase} " not in normalised:
                    found.setdefault(phrase, None)
    return list(found)


@lru_cache(maxsize=1)
def synonym_stems() -> dict[str, tuple[frozenset[str], ...]]:
    """For each topic stem of a one-word phrasing in a synonym group, the group's other
    phrasings as stem sets: "staffing" is found in a passage about the "workforce",
    "IFR" in one about "individual funding requests"."""
    alternatives: dict[str, set[frozenset[str]]] = {}
    for group in synonym_groups():
        phrasings = [frozenset(stems(w for w in phrase.split() if w not in STOPWORDS))
                     for phrase in group]
        for phrasing in phrasings:
            if len(phrasing) == 1:
                (stem,) = phrasing
                alternatives.setdefault(stem, set()).update(
                    other for other in phrasings if other and other != phrasing)
    return {stem: tuple(others) for stem, others in alternatives.items()}
