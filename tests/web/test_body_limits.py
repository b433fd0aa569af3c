"""A JSON body over PLANSEARCH_MAX_BODY_KB answers 413, naming the limit, whether it
came with a Content-Length or chunked (issue 23: a chunked 1 MB body was cut at the
limit and answered 400 "not valid JSON")."""

from __future__ import annotations

import http.client
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import LiveServer
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.indexing.build import build_index

ROUTES = ["/api/search", "/api/chat"]
QUESTION = "urgent treatment centres in Westbury"
TOO_LARGE = {"error": {"code": "payload_too_large", "message": (
    "request body too large: the limit is 64 KiB (65,536 bytes; PLANSEARCH_MAX_BODY_KB)")}}
MEGABYTE_BODY = json.dumps({"query": QUESTION, "padding": "care " * 210_000}).encode()


def small_body(path: str) -> bytes:
    if path == "/api/chat":
        return json.dumps({"messages": [{"role": "user", "content": QUESTION}]}).encode()
    return json.dumps({"query": QUESTION}).encode()


@pytest.fixture(scope="module")
def limited_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    from conftest import FakeEmbedder

    root = tmp_path_factory.mktemp("body-limits")
    (root / "corpus").mkdir()
    (root / "corpus" / "westbury.txt").write_text(
        "# Westbury urgent care\n\nTwo urgent treatment centres in Westbury open every day "
        "from eight in the morning until ten at night.\n")
    build_index(root / "corpus", root / "index", FakeEmbedder())
    return create_app({"INDEX_DIR": str(root / "index"), "CORPUS_DIR": str(root / "corpus"),
                       "EMBEDDER": FakeEmbedder(), "RATE_LIMIT_SEARCH": "100000/minute"})


@pytest.fixture(scope="module")
def live_server(limited_app: Flask) -> Iterator[LiveServer]:
    with LiveServer(limited_app) as live:
        yield live


def chunked_post(client: FlaskClient, path: str, body: bytes, terminated: bool = True) -> Any:
    """A body without a length, as a server that decodes chunked encoding passes it on:
    werkzeug ignores CONTENT_LENGTH under Transfer-Encoding: chunked."""
    overrides = {"wsgi.input_terminated": True} if terminated else {}
    return client.post(path, input_stream=io.BytesIO(body), content_type="application/json",
                       headers={"Transfer-Encoding": "chunked"}, environ_overrides=overrides)


@pytest.mark.parametrize("path", ROUTES)
def test_a_chunked_body_over_the_limit_answers_413(limited_app: Flask, path: str) -> None:
    response = chunked_post(limited_app.test_client(), path, MEGABYTE_BODY)
    assert (response.status_code, response.get_json()) == (413, TOO_LARGE)


@pytest.mark.parametrize("path", ROUTES)
def test_a_declared_length_over_the_limit_answers_the_same(limited_app: Flask,
                                                           path: str) -> None:
    response = limited_app.test_client().post(path, data=MEGABYTE_BODY,
                                              content_type="application/json")
    assert (response.status_code, response.get_json()) == (413, TOO_LARGE)


@pytest.mark.parametrize("path", ROUTES)
def test_a_chunked_body_within_the_limit_is_read(limited_app: Flask, path: str) -> None:
    response = chunked_post(limited_app.test_client(), path, small_body(path))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["results"]


def test_a_chunked_body_the_server_cannot_bound_answers_411(limited_app: Flask) -> None:
    # werkzeug reads nothing from an unterminated stream of unknown length
    response = chunked_post(limited_app.test_client(), "/api/search", small_body("/api/search"),
                            terminated=False)
    assert (response.status_code, response.get_json()) == (411, {"error": {
        "code": "length_required",
        "message": "this server cannot read a chunked body: send it with a Content-Length "
                   "header"}})


def send_chunked(server: LiveServer, path: str, body: bytes) -> tuple[int, Any]:
    """POST `body` in 16 KiB chunks over a real connection; the server may answer before
    it has read them all."""
    connection = http.client.HTTPConnection(server.netloc, timeout=30)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        try:
            for start in range(0, len(body), 16 * 1024):
                piece = body[start:start + 16 * 1024]
                connection.send(b"%x\r\n" % len(piece) + piece + b"\r\n")
            connection.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # it refused the body part way through: its answer is waiting
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("path", ROUTES)
def test_a_real_server_answers_413_to_a_chunked_megabyte(live_server: LiveServer,
                                                         path: str) -> None:
    assert send_chunked(live_server, path, MEGABYTE_BODY) == (413, TOO_LARGE)
    status, payload = send_chunked(live_server, path, small_body(path))
    assert status == 200 and payload["results"]


def test_the_limit_is_named_from_the_setting(limited_app: Flask) -> None:
    app = create_app({**{k: limited_app.config[k] for k in ("INDEX_DIR", "CORPUS_DIR")},
                      "EMBEDDER": limited_app.extensions["plansearch"].embedder,
                      "MAX_BODY_KB": 2})
    response = chunked_post(app.test_client(), "/api/search", MEGABYTE_BODY)
    assert response.get_json()["error"]["message"] == (
        "request body too large: the limit is 2 KiB (2,048 bytes; PLANSEARCH_MAX_BODY_KB)")


def test_reindex_reads_a_chunked_body_within_the_limit(limited_app: Flask) -> None:
    app = create_app({**{k: limited_app.config[k] for k in ("INDEX_DIR", "CORPUS_DIR")},
                      "EMBEDDER": limited_app.extensions["plansearch"].embedder,
                      "ADMIN_TOKEN": "t" * 32, "JOB_RUNNER_THREAD": False})
    client = app.test_client()
    auth = {"Authorization": "Bearer " + "t" * 32}

    def reindex(body: bytes) -> Any:
        return client.post("/api/reindex", input_stream=io.BytesIO(body),
                           headers={**auth, "Transfer-Encoding": "chunked"},
                           content_type="application/json",
                           environ_overrides={"wsgi.input_terminated": True})

    queued = reindex(json.dumps({"full": True}).encode())
    assert queued.status_code == 202
    job = client.get(queued.get_json()["job_url"], headers=auth).get_json()
    assert job["full"] is True  # before: a chunked body was ignored as no body at all
    assert (reindex(MEGABYTE_BODY).status_code, reindex(MEGABYTE_BODY).get_json()) == (
        413, TOO_LARGE)
