"""When two words count as the same word. There are three comparisons, each chosen for
its job, and this module owns the two that are ours:

- `stem`: the first STEM letters. The coverage verdict asks whether a passage is on the
  question's topic at all, so it is generous: "maternity" finds "maternal", "plans"
  finds "plan".
- `root`: the word less an ending of up to ROOT_ENDING letters, never shorter than four.
  The answer gives a sentence partial credit for a word of the same root ("closure" for
  "close", "compliant" for "compliance"); the generous stem would also credit unrelated
  words that share five letters, and five letters would never join "close"/"closure".

One rule for both was measured (issue 24) and loses: `stem` in the answer drops answer
recall on the unseen public-health set (0.531 -> 0.516); `root` in the verdict drops it on
the seed and plans-eval sets (0.971 -> 0.943, 0.846 -> 0.831) and marks answerable
questions not_found, where calibration.json was fitted on `stem`.

The third comparison is the keyword engine's own English stemmer (tantivy; the Porter
stemmer for Milvus), applied inside the index: changing it would make existing indexes
match differently, so it stays there.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from service.text.tokens import words

STEM = 5  # leading letters compared, so "maternity" finds "maternal" and "plans" "plan"
ROOT_ENDING = 3  # letters an ending may add or change: "close"/"closure", "-ance"/"-ant"


def stem(word: str) -> str:
    """The word's topic stem: its first STEM letters."""
    return word[:STEM]


def stems(words: Iterable[str]) -> set[str]:
    """The topic stems of some words."""
    return {stem(w) for w in words}


@lru_cache(maxsize=4096)
def text_stems(text: str) -> frozenset[str]:
    """A passage's topic stems; cached, since the same passages come back again and again."""
    return frozenset(stems(words(text)))


def root(term: str) -> str | None:
    """The leading letters a word of the same root shares with the term, if it has any."""
    if len(term) <= 4 or term.isdigit():
        return None
    return term[:max(4, len(term) - ROOT_ENDING)]
