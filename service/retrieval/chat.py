"""Chat: turning a follow-up into a standalone query, and the answer the coverage
verdict allows. No language model is involved: the answer (`answer.py`) is the best
sentences, each cited. `answer` is the whole pipeline, as POST /api/chat and the
evaluator both run it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from service.areas import Gazetteer
from service.retrieval import Searcher, SearchResult, budget
from service.retrieval.answer import Answer, extractive_answer, highlight_quoted
from service.retrieval.coverage import Coverage
from service.retrieval.options import MAX_QUERY, Filters
from service.retrieval.results import DocumentRef, Hit
from service.retrieval.sentence_scorer import AnswerScorer
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
    return replace(filters, documents=tuple(kept)) if kept else filters


def verdict_answer(query: str, hits: list[Hit], coverage: Coverage | None,
                   scorer: AnswerScorer | None = None) -> Answer:
    """The answer the verdict allows: for not_found the verdict's message instead of
    quotes; otherwise the extractive answer, never quoting another area's passage as
    if it answered a question about a named area."""
    if coverage is not None and coverage.status == "not_found":
        return Answer(coverage.message or "", (), ())
    own_area = [replace(hit, sentences=()) if hit.other_area else hit for hit in hits]
    return extractive_answer(query, own_area, scorer)


# A follow-up is resolved against the turns before it, back to the last question that
# stood on its own; further back than this many questions adds nothing but cost.
MAX_CONTEXT_QUESTIONS = 4


def turns_that_matter(turns: list[Turn]) -> list[Turn]:
    """From the last question that stands on its own (not a follow-up), and at most the
    last MAX_CONTEXT_QUESTIONS questions: earlier turns can't change the query."""
    questions = [i for i, turn in enumerate(turns) if turn.role == "user"]
    start = questions[0]
    for i in questions[1:]:
        if not is_follow_up(turns[i].content):
            start = i
    start = max(start, questions[-MAX_CONTEXT_QUESTIONS:][0])
    return turns[start:]


def chat_query(turns: list[Turn], gazetteer: Gazetteer) -> Standalone:
    """The standalone query, capped like a search query: each follow-up adds to it, so
    the per-message limit alone doesn't bound what is searched."""
    standalone = resolve_follow_ups(turns_that_matter(turns), gazetteer)
    query = standalone.query
    if len(query) <= MAX_QUERY:
        return standalone
    # the newest question comes first in a resolved follow-up, so it survives the cut
    cut = query[:MAX_QUERY + 1]
    return replace(standalone, query=cut.rsplit(" ", 1)[0] if " " in cut else cut[:MAX_QUERY])


T = TypeVar("T")


class SearchesIndex(Protocol):
    """What the chat needs of the index it answers from: a `LiveIndex`, or `OneSearcher`."""

    @property
    def gazetteer(self) -> Gazetteer: ...

    def answer(self, work: Callable[[Searcher], T]) -> T: ...


@dataclass(frozen=True)
class OneSearcher:
    """One searcher that never changes generation (the evaluator's index), shaped like a
    `LiveIndex` for `answer`."""

    searcher: Searcher

    @property
    def gazetteer(self) -> Gazetteer:
        """The searcher's gazetteer, which resolves follow-ups."""
        return self.searcher.gazetteer

    def answer(self, work: Callable[[Searcher], T]) -> T:
        """`work` on the searcher."""
        return work(self.searcher)


@dataclass(frozen=True)
class ChatResult:
    """One chat turn answered: the search (its hits highlighting what the answer quotes),
    the standalone query that was searched, and the answer."""

    search_result: SearchResult
    query_used: str
    answer: Answer


def answer(live: SearchesIndex, turns: list[Turn], k: int, mode: str, filters: Filters,
           offset: int = 0) -> ChatResult:
    """Answer the last user turn of a validated conversation, as POST /api/chat does.
    With an offset the hits are those after the first `offset`, keeping their ranks in
    the whole list; the answer is the same as without one (from the top k)."""
    standalone = chat_query(turns, live.gazetteer)
    budget.checkpoint("resolving the follow-up")
    scorers: list[AnswerScorer | None] = []  # the searching index's, by its options

    def search(searcher: Searcher) -> SearchResult:
        scorers.append(searcher.answer_model if searcher.options.answer_scorer == "learned"
                       else None)
        # a follow-up that moves to a new place never answers from the old one
        narrowed = without_area(filters, searcher.documents, standalone.replaced_area)
        return searcher.search(standalone.query, k + offset, mode, narrowed)

    result = live.answer(search)  # a damaged generation falls back and searches again
    budget.checkpoint("search")
    reply = verdict_answer(standalone.query, result.hits[:k], result.coverage,
                           scorers[-1] if scorers else None)
    # the cards mark the sentences the answer quotes
    result = replace(result, hits=highlight_quoted(result.hits, reply)[offset:])
    return ChatResult(result, standalone.query, reply)
