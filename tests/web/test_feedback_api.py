"""Feedback, the question log and the admin insights (issue 26), on a tiny real index
in tmp_path: what each search, chat and compare stores (and that nothing says who
asked), feedback joined to its documents, the insights report and its CSV, retention,
the off switch, and every error a JSON 400 naming the parameter."""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from service.indexing.build import build_index
from service.store import EmbeddedStore
from service.store.question_log import DATABASE, LoggedEntry
from service.web.app import create_app

TOKEN = "insights-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
DOCS = {
    "gloucestershire-urgent.txt": "---\ntitle: Gloucestershire urgent care\narea: "
    "Gloucestershire\n---\n# Urgent care\n\nGloucestershire will open two urgent treatment "
    "centres in Cheltenham and Gloucester to see minor injuries without an appointment.\n",
    "staffordshire-planned.txt": "---\ntitle: Staffordshire planned care\narea: Staffordshire "
    "and Stoke-on-Trent\n---\n# Planned care\n\nStaffordshire opens an elective hub for hip "
    "and knee operations to cut waiting times for planned care.\n",
}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Path:
    root = tmp_path_factory.mktemp("feedback")
    (root / "corpus").mkdir()
    for name, text in DOCS.items():
        (root / "corpus" / name).write_text(text)
    build_index(root / "corpus", root / "built", embedder)
    return root


def make_app(index: Path, tmp_path: Path, embedder: Any, **settings: Any) -> Flask:
    """An app over a copy of the index, so each test's question log starts empty."""
    import shutil

    shutil.copytree(index / "built", tmp_path / "index", symlinks=True)
    return create_app({"INDEX_DIR": str(tmp_path / "index"), "CORPUS_DIR": str(index / "corpus"),
                       "EMBEDDER": embedder, "ADMIN_TOKEN": TOKEN,
                       "RATE_LIMIT_SEARCH": "100000/minute", **settings})


@pytest.fixture
def client(index: Path, tmp_path: Path, embedder: Any) -> FlaskClient:
    return make_app(index, tmp_path, embedder).test_client()


def assert_matches(client: FlaskClient, payload: Any, name: str) -> None:
    spec = client.get("/api/openapi.json").get_json()
    validator = Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                      "components": spec["components"]})
    assert [error.message for error in validator.iter_errors(payload)] == []


def logged(tmp_path: Path) -> list[LoggedEntry]:
    return EmbeddedStore(tmp_path / "index").question_log().entries("2000-01-01")


def test_each_search_chat_and_compare_is_logged_without_who_asked(
        client: FlaskClient, tmp_path: Path) -> None:
    search = client.get("/api/search?q=urgent+treatment+centres&area=Gloucestershire",
                        headers={"X-Forwarded-For": "10.1.2.3", "User-Agent": "Agent/7"})
    chat = client.post("/api/chat", json={"messages": [
        {"role": "user", "content": "hip operations waiting times"}]}).get_json()
    client.post("/api/compare", json={"question": "compare Gloucestershire and Dorset "
                                                  "urgent care"})
    entries = logged(tmp_path)
    assert [(e.kind, e.question, e.filters, e.verdict) for e in entries] == [
        ("search", "urgent treatment centres", {"areas": ["Gloucestershire"]}, "answered"),
        ("chat", "hip operations waiting times", {}, chat["coverage"]["status"]),
        ("compare", "urgent care in Gloucestershire", {"areas": ["Gloucestershire"]},
         "answered"),
        ("compare", "urgent care in Dorset", {"areas": ["Dorset"]}, "not_found")]
    assert entries[0].chunk_ids == tuple(search.get_json()["results"][0]["chunk_ids"]) + \
        tuple(i for r in search.get_json()["results"][1:] for i in r["chunk_ids"])
    assert entries[0].documents == ("gloucestershire-urgent-txt",)
    cited = {c["rank"] for c in chat["answer"]["citations"]}
    assert entries[1].chunk_ids == tuple(i for r in chat["results"] if r["rank"] in cited
                                         for i in r["chunk_ids"])
    assert entries[3].chunk_ids == ()
    # the file holds the columns above and nothing else: no address, agent or key
    with sqlite3.connect(tmp_path / "index" / DATABASE) as conn:
        dump = "\n".join(conn.iterdump())
    assert "10.1.2.3" not in dump and "Agent/7" not in dump and "127.0.0.1" not in dump


def test_feedback_then_the_question_shows_in_insights(client: FlaskClient) -> None:
    for _ in range(2):
        client.get("/api/search?q=dentistry+in+Dorset")
    client.get("/api/search?q=Dentistry in Dorset?")
    client.get("/api/search?q=urgent+treatment+centres+Gloucestershire")
    answer = client.get("/api/search?q=elective+hub+hip+operations").get_json()
    response = client.post("/api/feedback", json={
        "question": "elective hub hip operations", "helpful": False, "reason": "out_of_date",
        "chunk_ids": answer["results"][0]["chunk_ids"], "verdict": "answered"})
    assert response.status_code == 201 and response.get_json()["recorded"] is True
    assert_matches(client, response.get_json(), "FeedbackResult")
    client.post("/api/feedback", json={"question": "dentistry in Dorset", "helpful": False})
    client.post("/api/feedback", json={"question": "urgent treatment centres",
                                       "helpful": True})
    report = client.get("/api/insights", headers=ADMIN)
    assert report.status_code == 200 and report.headers["Cache-Control"] == "no-store"
    body = report.get_json()
    assert_matches(client, body, "Insights")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert (body["days"], body["log"], body["questions"], body["per_day"]) == (
        30, {"enabled": True, "retention_days": 180}, 5, [{"date": today, "questions": 5}])
    assert body["verdicts"] == {"answered": 2, "weak": 0, "not_found": 3}
    assert [(g["question"], g["normalised"], g["count"]) for g in body["gaps"]["not_found"]] \
        == [("dentistry in Dorset", "dentistry in dorset", 3)]
    assert body["feedback"] == {
        "helpful": 1, "not_helpful": 2,
        "by_reason": [{"reason": "out_of_date", "count": 1}, {"reason": "none given",
                                                              "count": 1}],
        "by_document": [{"document": "staffordshire-planned-txt",
                         "title": "Staffordshire planned care", "count": 1}]}
    exported = client.get("/api/insights.csv?days=1", headers=ADMIN)
    assert exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["section", "item", "count", "detail"]
    assert ["gap_not_found", "dentistry in Dorset", "3"] == rows[5][:3]
    assert ["not_helpful_document", "Staffordshire planned care", "1",
            "staffordshire-planned-txt"] in rows


def test_insights_need_the_admin_token(client: FlaskClient) -> None:
    assert client.get("/api/insights").status_code == 401
    assert client.get("/api/insights.csv", headers={"Authorization": "Bearer x"}
                      ).status_code == 401


def test_entries_past_retention_are_purged(client: FlaskClient, tmp_path: Path) -> None:
    log = EmbeddedStore(tmp_path / "index").question_log()
    log.add(LoggedEntry("old", "2020-01-01T00:00:00.000+00:00", "search", "ancient"))
    client.get("/api/search?q=urgent+care")
    assert client.get("/api/insights?days=180", headers=ADMIN).get_json()["questions"] == 1
    assert [e.question for e in logged(tmp_path)] == ["urgent care"]


def test_the_question_log_can_be_turned_off(index: Path, tmp_path: Path, embedder: Any
                                            ) -> None:
    client = make_app(index, tmp_path, embedder, QUESTION_LOG=False).test_client()
    client.get("/api/search?q=urgent+care")
    client.post("/api/compare", json={"question": "compare Dorset and Kent urgent care"})
    answer = client.post("/api/feedback", json={"question": "urgent care", "helpful": True})
    assert answer.status_code == 200 and answer.get_json()["recorded"] is False
    assert not (tmp_path / "index" / DATABASE).exists()
    body = client.get("/api/insights", headers=ADMIN).get_json()
    assert (body["log"]["enabled"], body["questions"]) == (False, 0)
    assert 'data-feedback="off"' in client.get("/").get_data(as_text=True)


def test_retention_below_one_day_is_refused(index: Path, tmp_path: Path, embedder: Any
                                           ) -> None:
    with pytest.raises(ValueError, match="PLANSEARCH_QUESTION_LOG_DAYS=0 must be at least 1"):
        make_app(index, tmp_path, embedder, QUESTION_LOG_DAYS=0)


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"helpful": True}, "question", "question is required"),
    ({"question": "q", "helpful": "no"}, "helpful", "helpful must be true or false"),
    ({"question": "q", "helpful": True, "reason": "other"}, "reason",
     "reason is only for an answer that was not helpful"),
    ({"question": "q", "helpful": False, "reason": "rude"}, "reason",
     "reason must be one of wrong_passage, not_in_library, out_of_date, other"),
    ({"question": "q", "helpful": False, "verdict": "maybe"}, "verdict",
     "verdict must be one of answered, weak, not_found"),
    ({"question": "q", "helpful": False, "chunk_ids": ["1"]}, "chunk_ids",
     "chunk_ids must be a list of at most 250 chunk ids (whole numbers, as in a result's "
     "chunk_ids)"),
    ({"question": "q", "helpful": False, "chunk_ids": [987654]}, "chunk_ids",
     "chunk_ids: 987654 is not a passage of the live index"),
])
def test_bad_feedback_is_a_400_naming_the_parameter(client: FlaskClient, body: dict[str, Any],
                                                    field: str, message: str) -> None:
    response = client.post("/api/feedback", json=body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["message"], error.get("field", "question")) == (message, field)


@pytest.mark.parametrize("days", ["0", "181", "x", "-1"])
def test_insights_days_outside_the_retention_is_a_400(client: FlaskClient, days: str) -> None:
    response = client.get(f"/api/insights?days={days}", headers=ADMIN)
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "days"


def test_with_read_keys_compare_csv_and_feedback_need_a_key_and_insights_the_admin_token(
        index: Path, tmp_path: Path, embedder: Any) -> None:
    client = make_app(index, tmp_path, embedder, API_KEYS="read-key-1").test_client()
    key = {"X-API-Key": "read-key-1"}
    compare = {"question": "compare Gloucestershire and Dorset urgent care"}
    feedback = {"question": "urgent care", "helpful": True}
    assert client.post("/api/compare", json=compare).status_code == 401
    assert client.get("/api/search.csv?q=urgent+care").status_code == 401
    assert client.post("/api/feedback", json=feedback).status_code == 401
    assert client.post("/api/compare", json=compare, headers=key).status_code == 200
    assert client.get("/api/search.csv?q=urgent+care", headers=key).status_code == 200
    assert client.post("/api/feedback", json=feedback, headers=key).status_code == 201
    assert client.get("/api/insights", headers={"Authorization": "Bearer read-key-1"}
                      ).status_code == 401
    assert client.get("/api/insights", headers=ADMIN).get_json()["questions"] == 2


def test_an_unwritable_log_never_fails_a_search_and_feedback_answers_503(
        client: FlaskClient, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "index" / DATABASE).mkdir()  # a folder where the file should be
    assert client.get("/api/search?q=urgent+care").status_code == 200
    assert "question not logged: the question log" in caplog.text
    response = client.post("/api/feedback", json={"question": "urgent care", "helpful": True})
    assert response.status_code == 503
    assert response.get_json()["error"]["message"].startswith("the question log")
    assert response.headers["Retry-After"]
