"""Chat: turning a follow-up into a standalone query, and the extractive answer.
No language model is involved: the answer is the best sentences, each cited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from service.areas import Gazetteer
from service.retrieval.results import Hit
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


def is_statement(sentence: str) -> bool:
    """A sentence fit to quote: long enough, and not a heading or a menu line."""
    text = sentence.strip()
    bullet = bool(re.match(r"^[•●▪◦\-–*]\s", text))
    words = text.split()
    capitalised = sum(word[:1].isupper() for word in words)
    if len(words) < 6 or capitalised > 0.6 * len(words):  # titles and menu lines
        return False
    return bullet or bool(re.search(r"[.!?:;)'’\"”]$", text))


def clean_sentence(text: str) -> str:
    text = re.sub(r"^[\s•●▪◦\-–*]+", "", " ".join(text.split()))
    return text if len(text) <= 400 else text[:397].rsplit(" ", 1)[0] + "…"


def extractive_answer(hits: list[Hit], max_sentences: int = 4, min_sentences: int = 2
                      ) -> dict[str, Any]:
    """The 2-4 best sentences from the top passages, each followed by its [n] marker."""
    scored: list[tuple[float, int, str]] = []
    for hit in hits[:5]:
        for (start, end), score in hit.sentences:
            sentence = hit.text[start:end]
            if is_statement(sentence):
                # earlier-ranked passages win ties: fusion already weighed them
                scored.append((score - 0.01 * (hit.rank - 1), hit.rank, sentence))
    scored.sort(key=lambda item: -item[0])
    chosen: list[tuple[float, int, str]] = []
    best = scored[0][0] if scored else 0.0
    for item in scored:
        if len(chosen) >= max_sentences:
            break
        if len(chosen) >= min_sentences and item[0] < best * 0.85:
            break
        if any(clean_sentence(item[2]) == clean_sentence(c[2]) for c in chosen):
            continue
        chosen.append(item)
    # marker n always means results[n - 1], so a client needs no mapping table
    parts, citations, cited = [], [], set()
    for _, rank, sentence in chosen:
        if rank not in cited:
            cited.add(rank)
            hit = hits[rank - 1]
            citations.append({"marker": rank, "rank": rank, "chunk_id": hit.chunk_id,
                              "document_id": hit.document.id, "page": hit.page,
                              "citation": hit.citation})
        parts.append(f"{clean_sentence(sentence)} [{rank}]")
    return {"text": " ".join(parts), "citations": citations}
