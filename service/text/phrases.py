"""Phrases of a question that the keyword search matches in order, not as scattered
words: the names it gives, or each pair of neighbouring content words."""

from __future__ import annotations

import re
from collections.abc import Callable

from service.text.stopwords import STOPWORDS
from service.text.tokens import analysed_words

NAME_RUN = re.compile(r"(?<!^)(?<![.?!]\s)\b(?:[A-Z][\w&'’-]*\s+){1,5}[A-Z][\w&'’-]*")


def name_phrases(text: str) -> list[str]:
    """Runs of capitalised words inside the question ("Community Care First", "Best use
    of Medicines" excepted) searched as phrases: names of schemes, places and bodies
    should match in order, not as scattered words."""
    phrases: dict[str, None] = {}
    for match in NAME_RUN.finditer(text.strip()):
        words = analysed_words(match.group())
        if len(words) >= 2:
            phrases.setdefault(" ".join(words), None)
    return list(phrases)


def adjacent_pairs(text: str) -> list[str]:
    """Neighbouring content words of the question as phrases: a passage that keeps
    "planned care" together outranks one with the two words apart."""
    words = analysed_words(text)
    pairs: dict[str, None] = {}
    for first, second in zip(words, words[1:], strict=False):
        if first not in STOPWORDS and second not in STOPWORDS and len(first) > 1 \
                and len(second) > 1:
            pairs.setdefault(f"{first} {second}", None)
    return list(pairs)


# the SearchOptions.phrases setting: which phrases a keyword query adds
PHRASES: dict[str, Callable[[str], list[str]]] = {
    "none": lambda text: [], "names": name_phrases, "pairs": adjacent_pairs}
