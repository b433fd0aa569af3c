"""One chat pipeline (issue 24): POST /api/chat only validates and serialises what
`retrieval.chat.answer` returns, and the evaluator's one-searcher index answers exactly
as the server's live index does."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from service.retrieval.chat import ChatResult, OneSearcher, SearchesIndex, Turn, answer
from service.retrieval.options import DEFAULT_MODE, Filters

GLOUCESTERSHIRE_QUESTION = "what are Gloucestershire's urgent care plans"
STAFFORDSHIRE_DOCUMENT = "staffordshire-planned-care-programme-txt"
# (questions, k, filters): a follow-up that moves place, one that refers back, a filter,
# and a place with no documents (the verdict withholds the quotes)
CHATS = [
    ((GLOUCESTERSHIRE_QUESTION, "and what about Staffordshire?"), 5, {}),
    ((GLOUCESTERSHIRE_QUESTION, "how much will that cost?"), 3, {}),
    (("how will waiting times for planned care be reduced?",), 2,
     {"document": [STAFFORDSHIRE_DOCUMENT]}),
    ((GLOUCESTERSHIRE_QUESTION, "what about Cornwall?"), 5, {}),
]


def turns(questions: tuple[str, ...]) -> list[Turn]:
    conversation: list[Turn] = []
    for question in questions:
        conversation += [Turn("user", question), Turn("assistant", "…")]
    return conversation[:-1]


def served(chat: ChatResult) -> dict[str, Any]:
    """The parts of the /api/chat JSON that don't depend on timing, as JSON reads them."""
    result = chat.search_result
    payload = {"query": result.query, "mode": result.mode, "interpreted": result.interpreted,
               "coverage": result.coverage.to_dict() if result.coverage else None,
               "results": [hit.to_dict() for hit in result.hits],
               "query_used": chat.query_used, "answer": chat.answer.to_dict(),
               "facets": result.facets}
    parsed: dict[str, Any] = json.loads(json.dumps(payload))
    return parsed


@dataclass(frozen=True)
class Chat:
    turns: list[Turn]
    k: int
    filters: dict[str, list[str]]

    def answered(self, index: SearchesIndex) -> ChatResult:
        chosen = Filters(documents=tuple(self.filters.get("document", ())))
        return answer(index, self.turns, self.k, DEFAULT_MODE, chosen)


@pytest.fixture(params=CHATS, ids=["new place", "refers back", "filtered", "not found"])
def chat(request: pytest.FixtureRequest) -> Chat:
    questions, k, filters = request.param
    return Chat(turns(questions), k, filters)


def test_the_view_serves_what_the_pipeline_answers(app: Flask, chat: Chat) -> None:
    expected = served(chat.answered(app.extensions["plansearch"]))
    body = app.test_client().post("/api/chat", json={
        "messages": [{"role": t.role, "content": t.content} for t in chat.turns],
        "k": chat.k, "filters": chat.filters}).get_json()
    assert set(body) == set(expected) | {"took_ms", "timings_ms"}
    assert {key: body[key] for key in expected} == expected


def test_one_searcher_answers_as_the_live_index_does(app: Flask, chat: Chat) -> None:
    live = app.extensions["plansearch"]
    assert served(chat.answered(OneSearcher(live.searcher()))) == served(chat.answered(live))


def test_quoted_sentences_are_the_cards_highlights(app: Flask) -> None:
    chat = answer(app.extensions["plansearch"], turns((GLOUCESTERSHIRE_QUESTION,)), 5,
                  DEFAULT_MODE, Filters())
    assert chat.answer.quoted
    by_rank = {hit.rank: hit for hit in chat.search_result.hits}
    for rank, span in chat.answer.quoted:
        assert span in by_rank[rank].highlights
