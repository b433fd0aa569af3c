"""Paging (issue 28): GET /api/v1/jobs and /api/v1/documents take `limit` (default 50, at
most 500) and an opaque `cursor`, and answer `next_cursor`, null on the last page. The
unversioned /api/jobs keeps its page of 20, /api/documents its whole list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.web.paging import encode_cursor
from tests.web.test_access_model import ADMIN_TOKEN, corpus, make  # noqa: F401

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def app(corpus: Path, tmp_path: Path) -> Flask:  # noqa: F811
    """The module's index, with a jobs table of its own in a copy of the index folder."""
    import shutil

    shutil.copytree(corpus / "index", tmp_path / "index")
    return make(corpus, INDEX_DIR=str(tmp_path / "index"))


def queue_jobs(app: Flask, count: int) -> list[str]:
    """The ids of `count` new jobs, newest first; several share a created_at millisecond,
    and the ids (random) settle their order."""
    store = app.extensions["plansearch_jobs"].store
    jobs = [store.create("reindex") for _ in range(count)]
    return [job["id"] for job in sorted(jobs, key=lambda j: (j["created_at"], j["id"]),
                                        reverse=True)]


def follow(client: FlaskClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a list, following next_cursor."""
    pages, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, query_string=query, headers=ADMIN)
        assert response.status_code == 200, response.get_json()
        pages.append(response.get_json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages


def test_jobs_page_through_every_job_once_newest_first(app: Flask) -> None:
    newest_first = queue_jobs(app, 7)
    pages = follow(app.test_client(), "/api/v1/jobs", limit=3)
    assert [len(page["jobs"]) for page in pages] == [3, 3, 1]
    assert [job["id"] for page in pages for job in page["jobs"]] == newest_first


def test_a_page_that_ends_the_list_exactly_has_no_next_cursor(app: Flask) -> None:
    newest_first = queue_jobs(app, 4)
    pages = follow(app.test_client(), "/api/v1/jobs", limit=2)
    assert [[job["id"] for job in page["jobs"]] for page in pages] == [
        newest_first[:2], newest_first[2:]]


def test_v1_jobs_default_to_50_and_the_unversioned_list_to_20(app: Flask) -> None:
    newest_first = queue_jobs(app, 52)
    client = app.test_client()
    v1 = client.get("/api/v1/jobs", headers=ADMIN).get_json()
    assert [job["id"] for job in v1["jobs"]] == newest_first[:50] and v1["next_cursor"]
    old = client.get("/api/jobs", headers=ADMIN).get_json()
    assert [job["id"] for job in old["jobs"]] == newest_first[:20]


@pytest.mark.parametrize("query,field,message", [
    ({"limit": "501"}, "limit", "limit must be a whole number from 1 to 500"),
    ({"limit": "0"}, "limit", "limit must be a whole number from 1 to 500"),
    ({"cursor": "not-a-cursor"}, "cursor", "cursor is not a cursor of this list: pass back "
                                           "the next_cursor of the previous page of jobs"),
    ({"cursor": encode_cursor("jobs", "2026-12-07", 5)}, "cursor",
     "cursor is not a cursor of this list: pass back the next_cursor of the previous page "
     "of jobs"),
    ({"cursor": encode_cursor("documents", 5)}, "cursor",
     "cursor is not a cursor of this list: pass back the next_cursor of the previous page "
     "of jobs"),
])
def test_a_bad_limit_or_cursor_is_a_400_naming_it(app: Flask, query: dict[str, str],
                                                   field: str, message: str) -> None:
    response = app.test_client().get("/api/v1/jobs", query_string=query, headers=ADMIN)
    assert (response.status_code, response.get_json()) == (400, {"error": {
        "code": "invalid_parameter", "message": message, "field": field}})


def test_documents_page_with_a_cursor(app: Flask) -> None:
    client = app.test_client()
    everything = client.get("/api/documents", headers=ADMIN).get_json()
    assert everything["limit"] is None and everything["next_cursor"] is None
    pages = follow(client, "/api/v1/documents", limit=1)
    assert [len(page["documents"]) for page in pages] == [1, 1]
    assert [d["id"] for page in pages for d in page["documents"]] == \
        [d["id"] for d in everything["documents"]]
    assert [page["offset"] for page in pages] == [0, 1]


def test_v1_documents_default_to_a_page_of_50(app: Flask) -> None:
    client = app.test_client()
    body = client.get("/api/v1/documents", headers=ADMIN).get_json()
    assert (body["limit"], body["next_cursor"], len(body["documents"])) == (50, None, 2)
    refused = client.get("/api/v1/documents?limit=501", headers=ADMIN)
    assert refused.get_json()["error"]["field"] == "limit"
    negative = client.get("/api/v1/documents", headers=ADMIN, query_string={
        "cursor": encode_cursor("documents", -1)})
    assert negative.get_json()["error"]["field"] == "cursor"
    both = client.get("/api/v1/documents", headers=ADMIN, query_string={
        "limit": 1, "offset": 1, "cursor": encode_cursor("documents", 1)})
    assert (both.status_code, both.get_json()["error"]["message"]) == (
        400, "give cursor or offset, not both")


def test_search_pages_with_offset_keeping_the_ranks(app: Flask) -> None:
    client = app.test_client()
    question = {"q": "urgent treatment centres care", "mode": "dense"}
    whole = client.get("/api/v1/search", query_string={**question, "k": 4}).get_json()
    assert len(whole["results"]) == 4
    page = client.get("/api/v1/search", query_string={**question, "k": 2, "offset": 2})
    assert page.status_code == 200
    assert [(r["rank"], r["chunk_id"]) for r in page.get_json()["results"]] == \
        [(r["rank"], r["chunk_id"]) for r in whole["results"][2:]] and \
        [r["rank"] for r in page.get_json()["results"]] == [3, 4]
    posted = client.post("/api/v1/search", json={"query": question["q"], "mode": "dense",
                                                 "k": 2, "offset": 2}).get_json()
    assert [r["chunk_id"] for r in posted["results"]] == \
        [r["chunk_id"] for r in whole["results"][2:]]


@pytest.mark.parametrize("offset", ["-1", "96", "x", "²"])
def test_an_offset_past_100_results_is_a_400(app: Flask, offset: str) -> None:
    response = app.test_client().get("/api/v1/search", query_string={
        "q": "care", "k": 5, "offset": offset})
    assert (response.status_code, response.get_json()) == (400, {"error": {
        "code": "invalid_parameter", "field": "offset",
        "message": "offset must be a whole number from 0 to 100 - k (k + offset at most 100)"}})
    posted = app.test_client().post("/api/v1/search", json={"query": "care", "offset": True})
    assert posted.get_json()["error"]["field"] == "offset"


def chat(client: FlaskClient, **fields: Any) -> Any:
    return client.post("/api/v1/chat", json={
        "messages": [{"role": "user", "content": "urgent treatment centres care"}],
        "mode": "dense", **fields})


def test_chat_pages_with_offset_keeping_the_ranks_and_the_answer(app: Flask) -> None:
    client = app.test_client()
    whole = chat(client, k=4).get_json()
    assert len(whole["results"]) == 4
    first = chat(client, k=2).get_json()
    page = chat(client, k=2, offset=2)
    assert page.status_code == 200
    paged = page.get_json()
    assert [(r["rank"], r["chunk_id"]) for r in paged["results"]] == \
        [(r["rank"], r["chunk_id"]) for r in whole["results"][2:]]
    assert [r["rank"] for r in paged["results"]] == [3, 4]
    # the answer is the question's, from the top of the list, whatever the page
    assert paged["answer"] == first["answer"]
    assert paged["query_used"] == first["query_used"]


@pytest.mark.parametrize("offset", [-1, 96, "2", True, 1.5])
def test_a_chat_offset_past_100_results_is_a_400(app: Flask, offset: Any) -> None:
    response = chat(app.test_client(), k=5, offset=offset)
    assert (response.status_code, response.get_json()) == (400, {"error": {
        "code": "invalid_parameter", "field": "offset",
        "message": "offset must be a whole number from 0 to 100 - k (k + offset at most 100)"}})
