"""The service on Milvus: the API end to end on Milvus Lite (search, an upload indexed
by the real builder subprocess, which reaches Lite through this process, then a delete),
and a lost connection to a Milvus server (503 with Retry-After, then reconnected)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from milvus_helpers import lite_store, lite_url
from milvus_lite.adapter.grpc.server import start_server_in_thread

from service.indexing.build import build_index
from service.store import open_store
from service.web.app import create_app
from tests.web.test_admin import AUTH, DOCS, TOKEN, ZEBRA, job, run_jobs, upload

GLOUCESTERSHIRE = "what are Gloucestershire's urgent care plans"
RECONNECT_WAIT_S = 30  # for a restarted Milvus Lite server to answer


def write_docs(corpus: Path) -> None:
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text)


def search_ids(client: FlaskClient, question: str, k: int = 3) -> list[str]:
    response = client.get("/api/search", query_string={"q": question, "k": k})
    assert response.status_code == 200, response.get_json()
    return [hit["document"]["id"] for hit in response.get_json()["results"]]


def test_the_api_end_to_end_on_milvus_lite(tmp_path: Path, embedder: Any) -> None:
    corpus = tmp_path / "corpus"
    write_docs(corpus)
    with lite_store(tmp_path) as store:
        build_index(corpus, store, embedder)
        app = create_app({"STORE": lite_url(tmp_path), "INDEX_DIR": str(tmp_path / "index"),
                          "CORPUS_DIR": str(corpus), "EMBEDDER": embedder,
                          "ADMIN_TOKEN": TOKEN, "JOB_RUNNER_THREAD": False})
        client = app.test_client()
        health = client.get("/api/health").get_json()
        assert (health["status"], health["generation"], health["documents"]) == \
            ("ok", "gen-000001", 2)
        assert health["store"] == {"backend": "milvus-lite", "connected": True}
        assert search_ids(client, "urgent treatment centres", 1) == \
            ["gloucestershire-urgent-care-txt"]
        chat = client.post("/api/chat", json={"messages": [
            {"role": "user", "content": "hip operations in Staffordshire"}]})
        assert chat.status_code == 200

        uploaded = upload(client, (ZEBRA, "zebra.md")).get_json()["job_id"]
        run_jobs(app)  # the real builder, in a subprocess
        done = job(client, uploaded)
        assert done["status"] == "succeeded", done
        assert done["builder_pid"] != os.getpid()
        assert search_ids(client, "zebra crossings near schools", 1) == ["zebra-md"]

        deleted = client.delete("/api/documents/gloucestershire-urgent-care-txt", headers=AUTH)
        assert deleted.status_code == 202
        run_jobs(app)
        assert job(client, deleted.get_json()["job_id"])["status"] == "succeeded"
        listed = client.get("/api/documents").get_json()["documents"]
        assert sorted(d["id"] for d in listed) == ["staffordshire-planned-care-txt", "zebra-md"]
        assert "gloucestershire-urgent-care-txt" not in search_ids(client, "urgent treatment")
        assert client.get("/api/health").get_json()["generation"] == "gen-000003"
        assert store.published() == ["gen-000003", "gen-000002"]
        # the question log lives in Milvus too, and the builds' pruning kept it (issue 26)
        insights = client.get("/api/insights", headers=AUTH).get_json()
        assert insights["questions"] == 4  # three searches and a chat
        assert [e.question for e in store.question_log().entries("2000-01-01")][:2] == [
            "urgent treatment centres", "hip operations in Staffordshire"]
        assert not (tmp_path / "index" / "questions.sqlite").exists()


def test_a_lost_milvus_server_gives_503_with_retry_after_then_reconnects(
        tmp_path: Path, fake_embedder: Any) -> None:
    folder = str(tmp_path / "server.db")
    server, database, port = start_server_in_thread(folder, port=0)
    url = f"milvus://127.0.0.1:{port}"
    corpus = tmp_path / "corpus"
    write_docs(corpus)
    try:
        build_index(corpus, open_store(tmp_path / "index", {"STORE": url}), fake_embedder)
        app = create_app({"STORE": url, "INDEX_DIR": str(tmp_path / "index"),
                          "CORPUS_DIR": str(corpus), "EMBEDDER": fake_embedder})
        client = app.test_client()
        assert search_ids(client, "urgent treatment centres", 1)
        server.stop(grace=0)
        database.close()

        response = client.get("/api/search", query_string={"q": "urgent treatment centres"})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.get_json()["error"]["code"] == "store_unavailable"
        health = client.get("/api/health")
        assert health.status_code == 503 and health.headers["Retry-After"] == "5"
        assert health.get_json()["status"] == "down"
        assert health.get_json()["error"]["code"] == "store_unavailable"  # issue 28
        assert health.get_json()["store"] == {"backend": "milvus", "connected": False}

        server, database, _ = start_server_in_thread(folder, port=port)
        # the restarted server takes a moment to answer, longer on a busy machine: a
        # refused connection fails fast, so count time, not attempts
        deadline = time.monotonic() + RECONNECT_WAIT_S
        while True:
            response = client.get("/api/health")
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert response.get_json()["store"] == {"backend": "milvus", "connected": True}
        assert response.get_json()["bad_generation"] is None  # nothing was marked bad
        assert search_ids(client, "urgent treatment centres", 1)
    finally:
        server.stop(grace=0)
        database.close()
        shutil.rmtree(folder, ignore_errors=True)
