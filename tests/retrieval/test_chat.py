"""Chat: follow-ups become standalone queries, and the extractive answer cites results."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.areas import Gazetteer
from service.retrieval.answer import MAX_SENTENCES, WORD_BUDGET
from service.retrieval.chat import Turn, resolve_follow_ups, standalone_query

GLOUCESTERSHIRE_QUESTION = "what are Gloucestershire's urgent care plans"
MARKER = re.compile(r"\[(\d+)\]")


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


def conversation(*questions: str) -> list[Turn]:
    """User questions with a placeholder assistant reply between each pair."""
    turns: list[Turn] = []
    for question in questions:
        if turns:
            turns.append(Turn("assistant", "Here is what the plans say. [1]"))
        turns.append(Turn("user", question))
    return turns


# --- standalone_query -------------------------------------------------------------------

def test_a_first_question_is_searched_as_asked(gazetteer: Gazetteer) -> None:
    assert standalone_query(conversation(GLOUCESTERSHIRE_QUESTION), gazetteer) == \
        GLOUCESTERSHIRE_QUESTION


def test_a_new_place_keeps_the_topic(gazetteer: Gazetteer) -> None:
    query = standalone_query(conversation(GLOUCESTERSHIRE_QUESTION,
                                          "and what about Staffordshire?"), gazetteer)
    assert "urgent care" in query
    assert "Staffordshire" in query
    assert "Gloucestershire" not in query


def test_a_bare_place_name_keeps_the_topic(gazetteer: Gazetteer) -> None:
    query = standalone_query(conversation("mental health crisis services in Coventry",
                                          "and Gloucestershire?"), gazetteer)
    assert "mental health crisis services" in query
    assert "Gloucestershire" in query
    assert "Coventry" not in query


def test_a_follow_up_about_cost_keeps_the_topic_and_place(gazetteer: Gazetteer) -> None:
    query = standalone_query(conversation(GLOUCESTERSHIRE_QUESTION, "how much will that cost?"),
                             gazetteer)
    assert "cost" in query
    assert "urgent care" in query
    assert "Gloucestershire" in query


def test_follow_ups_chain(gazetteer: Gazetteer) -> None:
    query = standalone_query(conversation(GLOUCESTERSHIRE_QUESTION,
                                          "and what about Staffordshire?",
                                          "how much will that cost?"), gazetteer)
    assert "cost" in query
    assert "urgent care" in query
    assert "Staffordshire" in query
    assert "Gloucestershire" not in query


@pytest.mark.parametrize("question", [
    "what is the workforce strategy for mental health nurses in Coventry?",
    "how does Birmingham plan to reduce hospital demand with community care?",
])
def test_a_new_standalone_question_replaces_the_topic(gazetteer: Gazetteer,
                                                      question: str) -> None:
    query = standalone_query(conversation(GLOUCESTERSHIRE_QUESTION, question), gazetteer)
    assert query == question
    assert "urgent" not in query


# Scripted conversations: each user turn, then the query its last turn must become.
CONVERSATIONS = [
    ((GLOUCESTERSHIRE_QUESTION, "and what about their workforce plans?"),
     "workforce plans in Gloucestershire"),
    ((GLOUCESTERSHIRE_QUESTION, "and what about their workforce plans?",
      "and what about Coventry and Warwickshire?"),
     "workforce plans in Coventry and Warwickshire"),
    ((GLOUCESTERSHIRE_QUESTION, "what about mental health?"),
     "mental health in Gloucestershire"),
    ((GLOUCESTERSHIRE_QUESTION, "and what about Staffordshire?"),
     "urgent care plans in Staffordshire and Stoke-on-Trent"),
    ((GLOUCESTERSHIRE_QUESTION, "and what about Staffordshire?", "how much will that cost?"),
     "how much will that cost urgent care plans in Staffordshire and Stoke-on-Trent"),
    ((GLOUCESTERSHIRE_QUESTION, "and workforce in Staffordshire?"),
     "workforce in Staffordshire and Stoke-on-Trent"),
    (("mental health crisis services in Coventry", "and Gloucestershire?"),
     "mental health crisis services in Gloucestershire"),
    (("mental health crisis services in Coventry", "and Gloucestershire?",
      "what about their GP access?"),
     "GP access in Gloucestershire"),
    (("planned care in Staffordshire", "how much will it save?"),
     "how much will it save planned care in Staffordshire and Stoke-on-Trent"),
    (("planned care in Staffordshire", "and their MSK services?", "and in Birmingham?"),
     "MSK services in Birmingham and Solihull"),
    ((GLOUCESTERSHIRE_QUESTION, "what about Cornwall?"),
     "urgent care plans in Cornwall and the Isles of Scilly"),
    ((GLOUCESTERSHIRE_QUESTION, "when will they open?"),
     "when will they open urgent care plans in Gloucestershire"),
    (("what is the financial gap in Gloucestershire", "and what about their obesity programme?",
      "which university supports it?"),
     "which university supports it obesity programme in Gloucestershire"),
]


@pytest.mark.parametrize(("questions", "expected"), CONVERSATIONS)
def test_scripted_conversations(gazetteer: Gazetteer, questions: tuple[str, ...],
                                expected: str) -> None:
    assert standalone_query(conversation(*questions), gazetteer) == expected


def test_a_new_place_replaces_the_old_one(gazetteer: Gazetteer) -> None:
    resolved = resolve_follow_ups(conversation(GLOUCESTERSHIRE_QUESTION, "and Staffordshire?",
                                               "how much will that cost?"), gazetteer)
    assert resolved.replaced_area == "Gloucestershire"
    assert resolve_follow_ups(conversation(GLOUCESTERSHIRE_QUESTION, "what about workforce?"),
                              gazetteer).replaced_area is None


def test_assistant_turns_are_not_searched(gazetteer: Gazetteer) -> None:
    turns = [Turn("user", GLOUCESTERSHIRE_QUESTION),
             Turn("assistant", "Staffordshire is reviewing musculoskeletal pathways. [1]"),
             Turn("user", "how much will that cost?")]
    query = standalone_query(turns, gazetteer)
    assert "musculoskeletal" not in query
    assert "Staffordshire" not in query


# --- POST /api/chat ---------------------------------------------------------------------

def messages(*questions: str) -> list[dict[str, str]]:
    return [{"role": turn.role, "content": turn.content} for turn in conversation(*questions)]


@pytest.fixture(scope="module")
def follow_up(app: Flask) -> dict[str, Any]:
    response = app.test_client().post("/api/chat", json={
        "messages": messages(GLOUCESTERSHIRE_QUESTION, "and what about Staffordshire?")})
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


def test_follow_up_query_used_carries_the_earlier_topic(follow_up: dict[str, Any]) -> None:
    assert "urgent care" in follow_up["query_used"]
    assert "Staffordshire" in follow_up["query_used"]
    assert "Gloucestershire" not in follow_up["query_used"]
    assert follow_up["query"] == follow_up["query_used"]


def test_chat_response_has_the_search_fields(follow_up: dict[str, Any]) -> None:
    assert set(follow_up) == {"query", "mode", "took_ms", "interpreted", "timings_ms",
                              "coverage", "results", "query_used", "answer", "facets"}
    assert set(follow_up["answer"]) == {"text", "citations"}
    assert len(follow_up["results"]) == 5
    assert follow_up["interpreted"] == {"area": "Staffordshire and Stoke-on-Trent"}
    assert follow_up["results"][0]["document"]["area"] == "Staffordshire and Stoke-on-Trent"


def answer_sentences(text: str) -> list[tuple[str, int]]:
    """(sentence, marker) pairs; the text must be nothing but sentences each ending in [n]."""
    pairs = re.findall(r"\s*(.+?)\s\[(\d+)\]", text)
    assert "".join(f"{sentence} [{n}]" for sentence, n in pairs).replace(" ", "") == \
        text.replace(" ", "")
    return [(sentence, int(n)) for sentence, n in pairs]


def test_answer_is_a_few_cited_sentences_within_the_budget(follow_up: dict[str, Any]) -> None:
    sentences = answer_sentences(follow_up["answer"]["text"])
    assert 2 <= len(sentences) <= MAX_SENTENCES
    assert sum(len(sentence.split()) for sentence, _ in sentences) <= WORD_BUDGET
    for sentence, marker in sentences:
        assert len(sentence.split()) >= 4
        assert 1 <= marker <= len(follow_up["results"])


def test_every_marker_points_into_results(follow_up: dict[str, Any]) -> None:
    results = follow_up["results"]
    answer = follow_up["answer"]
    for sentence, marker in answer_sentences(answer["text"]):
        cited = results[marker - 1]
        # the sentence is quoted from the passage it cites (long ones are cut with "…")
        assert " ".join(sentence.rstrip("…").split()[:6]) in " ".join(cited["text"].split())
    markers = sorted({int(n) for n in MARKER.findall(answer["text"])})
    assert sorted(c["marker"] for c in answer["citations"]) == markers
    for citation in answer["citations"]:
        result = results[citation["marker"] - 1]
        assert citation == {"marker": result["rank"], "rank": result["rank"],
                             "chunk_id": result["chunk_id"],
                             "document_id": result["document"]["id"], "page": result["page"],
                             "citation": result["citation"]}


def test_a_cost_follow_up_searches_the_topic(client: FlaskClient) -> None:
    response = client.post("/api/chat", json={
        "messages": messages(GLOUCESTERSHIRE_QUESTION, "how much will that cost?"), "k": 3})
    assert response.status_code == 200
    body = response.get_json()
    assert "urgent care" in body["query_used"]
    assert "Gloucestershire" in body["query_used"]
    assert len(body["results"]) == 3
    assert 2 <= len(answer_sentences(body["answer"]["text"])) <= MAX_SENTENCES


def test_chat_filters_apply(client: FlaskClient) -> None:
    document = "staffordshire-planned-care-programme-txt"
    response = client.post("/api/chat", json={
        "messages": messages("how will waiting times for planned care be reduced?"), "k": 2,
        "filters": {"document": [document]}})
    assert response.status_code == 200
    body = response.get_json()
    assert {r["document"]["id"] for r in body["results"]} == {document}
    assert {c["document_id"] for c in body["answer"]["citations"]} == {document}


@pytest.mark.parametrize(("questions", "old_area"), [
    ((GLOUCESTERSHIRE_QUESTION, "and what about their workforce plans?",
      "and what about Coventry and Warwickshire?"), "Gloucestershire"),
    ((GLOUCESTERSHIRE_QUESTION, "and what about Staffordshire?"), "Gloucestershire"),
    (("planned care in Staffordshire", "and what about Birmingham?"),
     "Staffordshire and Stoke-on-Trent"),
    ((GLOUCESTERSHIRE_QUESTION, "what about Cornwall?"), "Gloucestershire"),
])
def test_a_new_place_returns_nothing_from_the_old_place(client: FlaskClient,
                                                        questions: tuple[str, ...],
                                                        old_area: str) -> None:
    body = client.post("/api/chat", json={"messages": messages(*questions), "k": 8}).get_json()
    assert body["results"]
    assert old_area not in {r["document"]["area"] for r in body["results"]}


def test_a_new_topic_does_not_leak_the_old_one(client: FlaskClient) -> None:
    body = client.post("/api/chat", json={"messages": messages(
        GLOUCESTERSHIRE_QUESTION, "and what about their workforce plans?")}).get_json()
    assert body["query_used"] == "workforce plans in Gloucestershire"
    assert body["results"][0]["document"]["area"] == "Gloucestershire"
    first_sentence = body["answer"]["text"].split(" [")[0].lower()
    assert "urgent" not in first_sentence


def test_a_follow_up_to_an_area_without_documents_is_not_found(client: FlaskClient) -> None:
    body = client.post("/api/chat", json={"messages": messages(
        GLOUCESTERSHIRE_QUESTION, "what about Cornwall?")}).get_json()
    assert body["coverage"]["status"] == "not_found"
    assert body["coverage"]["area"] == {"name": "Cornwall and the Isles of Scilly",
                                        "documents": 0}
    assert body["answer"]["citations"] == []
