"""A question without its places, and the topic words left. The gazetteer is passed in
(anything with `find_mentions`, as `service.areas.Gazetteer` has) rather than imported:
which names are places is data the caller loads once, and this package stays a leaf
that imports nothing else of the service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from service.text.stopwords import QUESTION_WORDS
from service.text.tokens import QUOTED_WORD

POSSESSIVE = ("'s", "’s")


class Mention(Protocol):
    """Where a place is named in a text."""

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


class Places(Protocol):
    """What finds place names in a text (service.areas.Gazetteer)."""

    def find_mentions(self, text: str) -> Sequence[Mention]: ...


def strip_places(text: str, places: Places) -> str:
    """The text without the places it names (and their "'s"), spaces collapsed."""
    for mention in sorted(places.find_mentions(text), key=lambda m: -m.start):
        end = mention.end + (2 if text[mention.end:mention.end + 2] in POSSESSIVE else 0)
        # a space, not nothing: "x/Leeds/y" must not join its neighbours into one word
        text = text[:mention.start] + " " + text[end:]
    return " ".join(text.split())


def topic_words(text: str, dropped: frozenset[str] = QUESTION_WORDS) -> str:
    """The text's words as they are quoted back, less the `dropped` ones."""
    return " ".join(w for w in QUOTED_WORD.findall(text) if w.lower().strip("'’") not in dropped)


def topic_phrase(query: str, places: Places) -> str:
    """The question's topic as words to quote back: "Leeds mental health crisis plans"
    -> "mental health crisis"."""
    return topic_words(strip_places(query, places))
