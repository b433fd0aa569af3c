"""Chat: turning a follow-up into a standalone query. The extractive answer to it is in
service.retrieval.answer."""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.areas import Gazetteer
from service.retrieval.answer import extractive_answer  # noqa: F401  (the answer lives there)
from service.store.keywords import STOPWORDS

CONNECTIVE = re.compile(r"^\s*(?:and|also|but|so|then|ok(?:ay)?|what about|how about|same for|"
                        r"and what about|and how about|what of|and for|and in)\b[\s,]*",
                        re.IGNORECASE)
ANAPHORA = re.compile(r"\b(?:that|this|it|its|they|them|their|those|these|there|ones?)\b",
                      re.IGNORECASE)
QUESTION_WORDS = STOPWORDS | {"much", "many", "cost", "costs"}


@dataclass(frozen=True)
class Turn:
    role: str
    content: str


def is_follow_up(question: str) -> bool:
    words = question.split()
    return bool(CONNECTIVE.match(question)) or len(words) <= 3 or (
        len(words) <= 12 and bool(ANAPHORA.search(question)))


def strip_places(text: str, gazetteer: Gazetteer) -> str:
    for mention in sorted(gazetteer.find_mentions(text), key=lambda m: -m.start):
        end = mention.end
        if text[end:end + 2] in {"'s", "’s"}:
            end += 2
        text = text[:mention.start] + text[end:]
    return " ".join(text.split())


def topic_words(text: str) -> str:
    words = re.findall(r"[\w&£'’/-]+", text)
    return " ".join(w for w in words if w.lower().strip("'’") not in QUESTION_WORDS)


def standalone_query(messages: list[Turn], gazetteer: Gazetteer) -> str:
    """The query to search for the last user turn, resolved against earlier turns."""
    user_turns = [m.content.strip() for m in messages if m.role == "user"]
    query = user_turns[0]
    for question in user_turns[1:]:
        if not is_follow_up(question):
            query = question
            continue
        new_area = gazetteer.detect_query_area(question)
        old_area = gazetteer.detect_query_area(query)
        topic = topic_words(strip_places(query, gazetteer))
        asked = CONNECTIVE.sub("", question).strip().rstrip("?").strip()
        if new_area:
            # "and what about Staffordshire?": same topic, new place
            rest = topic_words(strip_places(asked, gazetteer))
            query = " ".join(p for p in (rest, topic, "in", new_area) if p) if rest or topic \
                else asked
        else:
            # "how much will that cost?": the question, plus the topic and place it refers to
            place = f"in {old_area}" if old_area else ""
            query = " ".join(p for p in (asked, topic, place) if p)
    return " ".join(query.split())
