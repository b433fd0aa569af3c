"""One client can't stall the others (issue #12, defect 1): the chat query is capped
like a search query, chat history is trimmed to the turns that matter, and every API
request has a time budget past which it answers 503 with Retry-After."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from service.areas import Gazetteer
from service.retrieval.chat import (
    MAX_CONTEXT_QUESTIONS,
    Turn,
    answer,
    chat_query,
    resolve_follow_ups,
    turns_that_matter,
)
from service.retrieval.options import DEFAULT_MODE, Filters
from service.web.app import create_app

FILLER = "urgent care waiting times in Gloucestershire hospitals "


def abusive_messages(turns: int = 50) -> list[dict[str, str]]:
    """The reported attack: every turn a ~1,000-character follow-up."""
    first = ("what are the plans for " + FILLER * 20)[:990]
    follow_up = ("and what about " + FILLER * 20)[:990]
    return [{"role": "user", "content": first}] + [
        {"role": "user", "content": follow_up + f" {n}"} for n in range(turns - 1)]


def test_fifty_long_follow_ups_search_at_most_1000_characters(client: FlaskClient) -> None:
    response = client.post("/api/chat", json={"messages": abusive_messages(), "k": 3})
    assert response.status_code == 200
    query = response.get_json()["query_used"]
    assert len(query) <= 1000
    # the newest question (its topic words, the place lifted out) comes first and survives
    assert query.startswith("urgent care waiting times hospitals urgent care")


def test_the_chat_pipeline_trims_and_caps_for_every_caller(app: Flask) -> None:
    """The view, the evaluator and this test call one function (issue 24), so the cap
    holds wherever a chat is answered, not only behind POST /api/chat."""
    turns = [Turn(m["role"], m["content"]) for m in abusive_messages()]
    chat = answer(app.extensions["plansearch"], turns, 3, DEFAULT_MODE, Filters())
    assert len(chat.query_used) <= 1000
    assert chat.query_used.startswith("urgent care waiting times hospitals urgent care")
    assert chat.search_result.query == chat.query_used
    assert len(chat.search_result.hits) == 3


def test_a_follow_up_and_its_place_are_cut_to_1000_characters() -> None:
    topic = " ".join(["cardiology"] * 90)  # 989 characters: one message under its limit
    turns = [user("what are Gloucestershire's urgent care plans"), Turn("assistant", "…"),
             user(f"and {topic}")]
    uncapped = resolve_follow_ups(turns, Gazetteer.load()).query
    assert len(uncapped) > 1000  # the place joins the new topic
    capped = chat_query(turns, Gazetteer.load())
    assert len(capped.query) <= 1000 and capped.query.startswith("cardiology cardiology")


def user(text: str) -> Turn:
    return Turn("user", text)


def test_history_starts_at_the_last_question_that_stands_alone() -> None:
    turns = [user("what are Gloucestershire's urgent care plans"), Turn("assistant", "…"),
             user("mental health services for young people in Coventry"), Turn("assistant", "…"),
             user("and in Staffordshire?")]
    assert turns_that_matter(turns) == turns[2:]


def test_history_keeps_at_most_the_last_few_questions() -> None:
    turns = [user("mental health services for young people in Coventry")] + [
        user(f"and {place}?") for place in ("Staffordshire", "Gloucestershire", "Solihull",
                                            "Warwickshire", "Birmingham")]
    kept = turns_that_matter(turns)
    assert kept == turns[-MAX_CONTEXT_QUESTIONS:]


def test_a_request_past_its_budget_is_a_503_with_retry_after(bundled_index: Path,
                                                               embedder: Any) -> None:
    app = create_app({"INDEX_DIR": str(bundled_index / "index"),
                      "CORPUS_DIR": str(bundled_index / "corpus"), "EMBEDDER": embedder,
                      "REQUEST_BUDGET_S": 1e-9})
    client = app.test_client()
    for response in (client.get("/api/search?q=urgent care"),
                     client.post("/api/chat", json={"messages": abusive_messages(3)})):
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        body = response.get_json()
        assert set(body) == {"error"} and body["error"]["code"] == "over_time_budget"
        assert "budget" in body["error"]["message"]
    assert client.get("/api/health").status_code == 200  # nothing in health can overrun


def test_no_budget_when_it_is_zero(bundled_index: Path, embedder: Any) -> None:
    app = create_app({"INDEX_DIR": str(bundled_index / "index"),
                      "CORPUS_DIR": str(bundled_index / "corpus"), "EMBEDDER": embedder,
                      "REQUEST_BUDGET_S": 0})
    assert app.test_client().get("/api/search?q=urgent care").status_code == 200


def test_eight_abusive_chats_are_bounded_and_searches_go_on(app: Flask) -> None:
    """Eight threads send the 50-turn chat over and over (as eight gunicorn threads
    would serve them) while another client searches: every search is answered, the
    chats beyond the worker's chat slot are refused at once with 503 and Retry-After,
    and the ones answered searched a capped query. The latency this buys is measured on
    a real gunicorn by `scripts/chaos.py --stages abuse` (RELIABILITY.md: search p99 48 ms
    under this abuse on a quiet machine): threads sharing one interpreter here measure
    the GIL as much as the server, so no time is asserted."""
    client = app.test_client()
    stop = threading.Event()
    chats: list[tuple[int, str | None, int]] = []  # status, Retry-After, query length

    # encoded once: the clients share this process, and their work is not the server's
    body = json.dumps({"messages": abusive_messages(), "k": 5})

    def abuse() -> None:
        own = app.test_client()
        while not stop.is_set():  # and never honouring Retry-After
            response = own.post("/api/chat", data=body, content_type="application/json")
            used = (response.get_json() or {}).get("query_used") or ""
            chats.append((response.status_code, response.headers.get("Retry-After"),
                          len(used)))

    # warm first: opening the index and embedding the question on the first request is
    # not what this measures, and under eight abusers on two cores it can pass the budget
    assert client.get("/api/search?q=elective hub&k=5").status_code == 200
    threads = [threading.Thread(target=abuse) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        searches = [client.get("/api/search?q=elective hub&k=5").status_code
                    for _ in range(40)]
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert searches == [200] * 40
    assert {status for status, _, _ in chats} == {200, 503}  # some answered, some refused
    assert all(retry is not None for status, retry, _ in chats if status == 503)
    assert all(0 < length <= 1000 for status, _, length in chats if status == 200)


def test_a_chat_beyond_the_slots_is_a_503_with_retry_after(bundled_index: Path,
                                                            embedder: Any) -> None:
    app = create_app({"INDEX_DIR": str(bundled_index / "index"),
                      "CORPUS_DIR": str(bundled_index / "corpus"), "EMBEDDER": embedder,
                      "CHAT_SLOTS": 1})
    client = app.test_client()
    question = {"messages": [{"role": "user", "content": "urgent care"}]}
    with app.extensions["plansearch_chat_slots"].hold():  # another chat is being answered
        response = client.post("/api/chat", json=question)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert response.get_json() == {"error": {
            "code": "busy", "message": "the server is already answering as many chats as it "
                                       "takes at once (1 per process); retry in a second"}}
        assert client.get("/api/search?q=urgent care").status_code == 200  # searches go on
    assert client.post("/api/chat", json=question).status_code == 200
