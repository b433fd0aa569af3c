"""Chat: turning a follow-up into a standalone query, and the answer the coverage
verdict allows. No language model is involved: the answer (`answer.py`) is the best
sentences, each cited."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from service.areas import Gazetteer
from service.retrieval.answer import Answer, extractive_answer
from service.retrieval.coverage import Coverage
from service.retrieval.options import Filters
from service.retrieval.results import DocumentRef, Hit
from service.text import QUESTION_WORDS, strip_places, topic_words

CONNECTIVE = re.compile(r"^\s*(?:and|also|but|so|then|ok(?:ay)?|what about|how about|same for|"
                        r"and what about|and how about|what of|and for|and in)\b[\s,]*",
                        re.IGNORECASE)
ANAPHORA = re.compile(r"\b(?:that|this|it|its|they|them|their|those|these|there|ones?)\b",
                      re.IGNORECASE)
# Pronouns that point back at the earlier topic ("how much will that cost?"), as opposed
# to the place ("their workforce plans").
REFERRING = re.compile(r"\b(?:that|this|it|those|these|they|them|ones?)\b", re.IGNORECASE)
# "how much will it cost" asks about the topic's cost; "workforce plans" is the topic
TOPIC_DROP = (QUESTION_WORDS | {"cost", "costs"}) - {"plans", "plan"}


@dataclass(frozen=True)
class Turn:
    role: str
    content: str


def without_connectives(question: str) -> str:
    """ "and what about their workforce plans?" -> "their workforce plans"."""
    stripped, previous = question.strip().rstrip("?").strip(), ""
    while stripped != previous:
        previous, stripped = stripped, CONNECTIVE.sub("", stripped).strip()
    return stripped


def is_follow_up(question: str) -> bool:
    words = question.split()
    return bool(CONNECTIVE.match(question)) or len(words) <= 3 or (
        len(words) <= 12 and bool(ANAPHORA.search(question)))


@dataclass(frozen=True)
class Standalone:
    """The query for the last user turn, and the earlier turns' place it replaced."""

    query: str
    replaced_area: str | None = None


def resolve_follow_ups(messages: list[Turn], gazetteer: Gazetteer) -> Standalone:
    """Resolve the last user turn against earlier ones. A follow-up with a topic of its
    own replaces the topic and keeps the place; one with a new place keeps the topic
    and replaces the place; one that only refers back ("how much will that cost?")
    adds to both."""
    user_turns = [m.content.strip() for m in messages if m.role == "user"]
    query, replaced = user_turns[0], None
    for question in user_turns[1:]:
        if not is_follow_up(question):
            query, replaced = question, None
            continue
        new_area = gazetteer.detect_query_area(question)
        old_area = gazetteer.detect_query_area(query)
        old_topic = topic_words(strip_places(query, gazetteer), TOPIC_DROP)
        asked = without_connectives(question)
        own = strip_places(ANAPHORA.sub(" ", asked), gazetteer)
        new_topic = bool(topic_words(own, TOPIC_DROP)) and not REFERRING.search(asked)
        place = new_area or old_area
        if new_topic:
            parts = [topic_words(own, TOPIC_DROP) if new_area else own]
        elif new_area:
            parts = [topic_words(own, TOPIC_DROP), old_topic]
        else:
            parts = [asked, old_topic]  # "how much will that cost?" needs the old topic
        topic = " ".join(p for p in parts if p)
        query = f"{topic} in {place}" if topic and place else topic or asked
        if new_area and old_area and new_area != old_area:
            replaced = old_area
        elif new_area:
            replaced = None
    return Standalone(" ".join(query.split()), replaced)


def standalone_query(messages: list[Turn], gazetteer: Gazetteer) -> str:
    """The query to search for the last user turn, resolved against earlier turns."""
    return resolve_follow_ups(messages, gazetteer).query


def without_area(filters: Filters, documents: dict[str, DocumentRef], area: str | None
                 ) -> Filters:
    """The filters, narrowed to leave out one area's documents: a follow-up that moves
    to a new place must not answer from the old one."""
    if area is None or filters.areas:
        return filters
    kept = [d for d, ref in documents.items() if ref.area != area and
            (not filters.documents or d in filters.documents)]
    return Filters(documents=tuple(kept)) if kept else filters


def verdict_answer(query: str, hits: list[Hit], coverage: Coverage | None) -> Answer:
    """The answer the verdict allows: for not_found the verdict's message instead of
    quotes; otherwise the extractive answer, never quoting another area's passage as
    if it answered a question about a named area."""
    if coverage is not None and coverage.status == "not_found":
        return Answer(coverage.message or "", (), ())
    own_area = [replace(hit, sentences=()) if hit.other_area else hit for hit in hits]
    return extractive_answer(query, own_area)
