"""Hot reload: a build that publishes a new generation is served by the same app on the
next request, with no restart, while requests holding the old one finish on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from service.indexing.build import build_index
from service.retrieval.live import LiveIndex
from service.web.app import create_app

PLANS = {
    "urgent-care.txt": "Urgent care plan\n\nSame day emergency care units will open seven days a "
                       "week so that fewer patients are admitted overnight.\n",
    "mental-health.txt": "Mental health plan\n\nCrisis cafes will open in each of the four towns "
                         "and the crisis line will answer within two minutes.\n",
}
NEW_PLAN = ("Dementia plan\n\nMemory assessment clinics in every district will see new "
            "referrals for dementia within six weeks of the family doctor's letter.\n")
NEW_QUERY = "memory assessment clinics dementia"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in PLANS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def index_dir(tmp_path: Path, corpus: Path, fake_embedder: Any) -> Path:
    build_index(corpus, tmp_path / "index", fake_embedder)
    return tmp_path / "index"


@pytest.fixture
def app(index_dir: Path, corpus: Path, fake_embedder: Any) -> Flask:
    return create_app({"INDEX_DIR": str(index_dir), "CORPUS_DIR": str(corpus),
                       "EMBEDDER": fake_embedder})


def document_ids(body: dict[str, Any]) -> set[str]:
    return {result["document"]["id"] for result in body["results"]}


def test_a_rebuild_is_served_by_the_same_app_without_a_restart(
        app: Flask, corpus: Path, index_dir: Path, fake_embedder: Any) -> None:
    client = app.test_client()
    before = client.get("/api/search", query_string={"q": NEW_QUERY, "k": 5}).get_json()
    assert document_ids(before) <= {"urgent-care-txt", "mental-health-txt"}
    assert client.get("/api/health").get_json()["generation"] == "gen-000001"

    (corpus / "dementia.txt").write_text(NEW_PLAN, encoding="utf-8")
    report = build_index(corpus, index_dir, fake_embedder)
    assert report.added == ["dementia.txt"]
    assert report.generation == "gen-000002"

    after = client.get("/api/search", query_string={"q": NEW_QUERY, "k": 5}).get_json()
    assert after["results"][0]["document"]["id"] == "dementia-txt"
    health = client.get("/api/health").get_json()
    assert health["generation"] == "gen-000002"
    assert health["documents"] == 3
    assert "dementia-txt" in {d["id"] for d in
                              client.get("/api/documents").get_json()["documents"]}
    assert client.get("/api/documents/dementia-txt").status_code == 200


def test_a_removed_document_disappears_after_the_rebuild(
        app: Flask, corpus: Path, index_dir: Path, fake_embedder: Any) -> None:
    client = app.test_client()
    assert client.get("/api/documents/mental-health-txt").status_code == 200
    (corpus / "mental-health.txt").unlink()
    build_index(corpus, index_dir, fake_embedder)
    assert client.get("/api/documents/mental-health-txt").status_code == 404
    body = client.get("/api/search", query_string={"q": "crisis cafes", "k": 5}).get_json()
    assert document_ids(body) == {"urgent-care-txt"}


def test_a_request_holding_the_old_searcher_finishes_on_it(
        app: Flask, corpus: Path, index_dir: Path, fake_embedder: Any) -> None:
    live: LiveIndex = app.extensions["plansearch"]
    in_flight = live.searcher()
    assert in_flight.generation.name == "gen-000001"

    (corpus / "dementia.txt").write_text(NEW_PLAN, encoding="utf-8")
    build_index(corpus, index_dir, fake_embedder)
    current = live.searcher()
    assert current is not in_flight
    assert current.generation.name == "gen-000002"

    # the old generation still answers, from its own documents only
    old = in_flight.search(NEW_QUERY, k=5)
    assert {hit.document.id for hit in old.hits} <= {"urgent-care-txt", "mental-health-txt"}
    assert old.hits
    new = current.search(NEW_QUERY, k=5)
    assert new.hits[0].document.id == "dementia-txt"


def test_an_unchanged_pointer_does_not_reload(app: Flask) -> None:
    live: LiveIndex = app.extensions["plansearch"]
    first = live.searcher()
    assert live.searcher() is first
    app.test_client().get("/api/health")
    assert live.searcher() is first


def test_a_build_with_nothing_new_does_not_reload(
        app: Flask, corpus: Path, index_dir: Path, fake_embedder: Any) -> None:
    live: LiveIndex = app.extensions["plansearch"]
    first = live.searcher()
    report = build_index(corpus, index_dir, fake_embedder)
    assert report.generation == "gen-000001"
    assert live.searcher() is first


def test_the_first_build_is_picked_up_by_an_app_started_before_it(
        tmp_path: Path, corpus: Path, fake_embedder: Any) -> None:
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    app = create_app({"INDEX_DIR": str(index_dir), "CORPUS_DIR": str(corpus),
                      "EMBEDDER": fake_embedder})
    client = app.test_client()
    assert client.get("/api/search?q=crisis+cafes").status_code == 503
    build_index(corpus, index_dir, fake_embedder)
    response = client.get("/api/search?q=crisis+cafes")
    assert response.status_code == 200
    assert response.get_json()["results"][0]["document"]["id"] == "mental-health-txt"
    assert client.get("/api/health").get_json()["status"] == "ok"
