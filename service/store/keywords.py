"""Keyword normalisation shared by indexing and querying, so that terms like "A&E",
"£270m", "2020/21" and "Stoke-on-Trent" match however they are written."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves tell show give find
please plans plan s
""".split())

# "A&E" -> "aande": an ampersand between letters is part of the name, not punctuation
AMPERSAND_TERM = re.compile(r"\b([A-Za-z]{1,3})\s?&\s?([A-Za-z]{1,3})\b")
MONEY = re.compile(r"£\s?(\d[\d,]*(?:\.\d+)?)\s?(m|mn|million|bn|billion|k)?\b", re.IGNORECASE)
YEAR_RANGE = re.compile(r"\b(19|20)(\d\d)\s?[/\-–]\s?(?:(?:19|20)(?=\d\d\b))?(\d\d)\b")
HYPHENATED = re.compile(r"\b([A-Za-z]+(?:-[A-Za-z]+)+)\b")
WORD = re.compile(r"[^\W_]+", re.UNICODE)
UNIT_SUFFIX = {"m": "m", "mn": "m", "million": "m", "bn": "bn", "billion": "bn", "k": "k"}


def _money(match: re.Match[str]) -> str:
    amount = match.group(1).replace(",", "")
    unit = UNIT_SUFFIX.get((match.group(2) or "").lower(), "")
    return f" {amount.replace('.', 'p')}{unit} "


def normalise(text: str) -> str:
    """Rewrite special terms into single word tokens that unicode61 keeps whole."""
    text = AMPERSAND_TERM.sub(lambda m: f"{m.group(1)}and{m.group(2)}", text)
    text = MONEY.sub(_money, text)
    text = YEAR_RANGE.sub(lambda m: f"{m.group(1)}{m.group(2)}x{m.group(3)}", text)
    # keep the parts and add the joined form: "co-ordinate" matches "coordinate" too
    text = HYPHENATED.sub(lambda m: f"{m.group(1).replace('-', ' ')} {m.group(1).replace('-', '')}",
                          text)
    return text.lower()


def index_terms(text: str) -> str:
    """The text the keyword index stores for one chunk."""
    return " ".join(WORD.findall(normalise(text)))


def query_terms(text: str) -> list[str]:
    """Distinct, meaningful query terms in order."""
    seen: dict[str, None] = {}
    for term in WORD.findall(normalise(text)):
        if term not in STOPWORDS and (len(term) > 1 or term.isdigit()):
            seen.setdefault(term, None)
    return list(seen)


@lru_cache(maxsize=1)
def synonym_groups() -> list[tuple[str, ...]]:
    """Equivalent phrasings (NHS acronyms and everyday words), normalised like the index."""
    data = json.loads((Path(__file__).resolve().parents[1] / "data" / "nhs_terms.json").read_text())
    return [tuple(" ".join(WORD.findall(normalise(p))) for p in group) for group in data["groups"]]


def expansions(text: str) -> list[str]:
    """Other phrasings of terms the text uses: "A&E" adds "accident and emergency"."""
    normalised = " " + " ".join(WORD.findall(normalise(text))) + " "
    found: dict[str, None] = {}
    for group in synonym_groups():
        if any(f" {phrase} " in normalised for phrase in group):
            for phrase in group:
                if f" {phrase} " not in normalised:
                    found.setdefault(phrase, None)
    return list(found)


NAME_RUN = re.compile(r"(?<!^)(?<![.?!]\s)\b(?:[A-Z][\w&'’-]*\s+){1,5}[A-Z][\w&'’-]*")


def name_phrases(text: str) -> list[str]:
    """Runs of capitalised words inside the question ("Community Care First", "Best use
    of Medicines" excepted) searched as phrases: names of schemes, places and bodies
    should match in order, not as scattered words."""
    phrases: dict[str, None] = {}
    for match in NAME_RUN.finditer(text.strip()):
        words = WORD.findall(normalise(match.group()))
        if len(words) >= 2:
            phrases.setdefault(" ".join(words), None)
    return list(phrases)


def adjacent_pairs(text: str) -> list[str]:
    """Neighbouring content words of the question as phrases: a passage that keeps
    "planned care" together outranks one with the two words apart."""
    words = WORD.findall(normalise(text))
    pairs: dict[str, None] = {}
    for first, second in zip(words, words[1:], strict=False):
        if first not in STOPWORDS and second not in STOPWORDS and len(first) > 1 \
                and len(second) > 1:
            pairs.setdefault(f"{first} {second}", None)
    return list(pairs)


PHRASES = {"none": lambda text: [], "names": name_phrases, "pairs": adjacent_pairs}
