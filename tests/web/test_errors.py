"""Every API error path, in one module, with whole-payload assertions on the one error
shape; HTML pages keep HTML errors; every response carries the security headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.web.app import create_app

AREAS = ("Birmingham and Solihull, Coventry and Warwickshire, Gloucestershire, "
         "Staffordshire and Stoke-on-Trent")
K_MESSAGE = "k must be an integer between 1 and 50"
REPAIR_HINT = "run `make index` (or `python scripts/build_index.py --full` to rebuild from scratch)"
QUESTION = "what are Gloucestershire's urgent care plans"


def error(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    body = {"code": code, "message": message}
    return {"error": {**body, "field": field} if field else body}


def assert_json_error(response: TestResponse, status: int, payload: dict[str, Any]) -> None:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.get_json() == payload
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    assert "<html" not in text.lower()


# --- the query ------------------------------------------------------------------------

@pytest.mark.parametrize(("query_string", "message"), [
    ({}, "q is required"),
    ({"q": ""}, "q must be a non-empty string"),
    ({"q": "   \t "}, "q must be a non-empty string"),
    ({"q": "x" * 1001}, "q must be at most 1000 characters (got 1001)"),
])
def test_get_search_rejects_a_bad_q(client: FlaskClient, query_string: dict[str, str],
                                    message: str) -> None:
    response = client.get("/api/search", query_string=query_string)
    assert_json_error(response, 400, error("invalid_query", message))


@pytest.mark.parametrize(("body", "message"), [
    ({}, "query is required"),
    ({"query": None}, "query is required"),
    ({"query": ""}, "query must be a non-empty string"),
    ({"query": "  \n "}, "query must be a non-empty string"),
    ({"query": 42}, "query must be a non-empty string"),
    ({"query": "x" * 1001}, "query must be at most 1000 characters (got 1001)"),
])
def test_post_search_rejects_a_bad_query(client: FlaskClient, body: dict[str, Any],
                                         message: str) -> None:
    response = client.post("/api/search", json=body)
    assert_json_error(response, 400, error("invalid_query", message))


def test_a_1000_character_query_is_accepted(client: FlaskClient) -> None:
    query = ("urgent care " * 100)[:1000]
    response = client.post("/api/search", json={"query": query, "k": 1})
    assert response.status_code == 200


# --- k ------------------------------------------------------------------------------

@pytest.mark.parametrize("k", ["0", "51", "abc", "-1", "2.5", ""])
def test_get_search_rejects_a_bad_k(client: FlaskClient, k: str) -> None:
    response = client.get("/api/search", query_string={"q": QUESTION, "k": k})
    assert_json_error(response, 400, error("invalid_parameter", K_MESSAGE))


@pytest.mark.parametrize("k", [0, 51, -3, "abc", True, False, 2.5, [5], {"k": 5}])
def test_post_search_rejects_a_bad_k(client: FlaskClient, k: Any) -> None:
    response = client.post("/api/search", json={"query": QUESTION, "k": k})
    assert_json_error(response, 400, error("invalid_parameter", K_MESSAGE))


def test_chat_rejects_a_bad_k(client: FlaskClient) -> None:
    response = client.post("/api/chat", json={
        "messages": [{"role": "user", "content": QUESTION}], "k": True})
    assert_json_error(response, 400, error("invalid_parameter", K_MESSAGE))


def test_unknown_mode(client: FlaskClient) -> None:
    response = client.get("/api/search", query_string={"q": QUESTION, "mode": "psychic"})
    assert_json_error(response, 400, error(
        "invalid_parameter", "mode must be one of dense, keyword, hybrid, hybrid+rerank"))


# --- filters --------------------------------------------------------------------------

def test_unknown_area_filter(client: FlaskClient) -> None:
    payload = error("invalid_filter", f"unknown area filter 'Narnia'; indexed areas: {AREAS}",
                    "area")
    assert_json_error(client.get("/api/search", query_string={"q": QUESTION, "area": "Narnia"}),
                      400, payload)
    assert_json_error(client.post("/api/search", json={"query": QUESTION,
                                                       "filters": {"area": ["Narnia"]}}),
                      400, payload)
    assert_json_error(client.post("/api/chat", json={
        "messages": [{"role": "user", "content": QUESTION}], "filters": {"area": ["Narnia"]}}),
        400, payload)


def test_unknown_document_filter(client: FlaskClient) -> None:
    payload = error("invalid_filter", "unknown document filter 'no-such-plan'; see "
                                      "/api/documents for document ids", "document")
    assert_json_error(client.get("/api/search", query_string={"q": QUESTION,
                                                              "document": "no-such-plan"}),
                      400, payload)
    assert_json_error(client.post("/api/search", json={"query": QUESTION, "filters": {
        "document": ["no-such-plan"]}}), 400, payload)


def test_unknown_filter_key(client: FlaskClient) -> None:
    response = client.post("/api/search", json={"query": QUESTION,
                                                "filters": {"region": ["Midlands"]}})
    assert_json_error(response, 400, error(
        "invalid_filter", "unknown filter 'region'; use 'area', 'document', 'type', "
                          "'publisher', 'published_from', 'published_to', 'year'", "region"))


@pytest.mark.parametrize("filters", [["Gloucestershire"], "Gloucestershire", 3, True])
def test_filters_must_be_an_object(client: FlaskClient, filters: Any) -> None:
    response = client.post("/api/search", json={"query": QUESTION, "filters": filters})
    assert_json_error(response, 400, error(
        "invalid_filter", "filters must be an object with optional 'area', 'document', 'type', "
                          "'publisher', 'published_from', 'published_to', 'year' lists", "filters"))


@pytest.mark.parametrize(("filters", "key"), [
    ({"area": [3]}, "area"), ({"area": [""]}, "area"), ({"document": {"id": "x"}}, "document"),
    ({"document": [None]}, "document"),
])
def test_filter_values_must_be_strings(client: FlaskClient, filters: dict[str, Any],
                                       key: str) -> None:
    response = client.post("/api/search", json={"query": QUESTION, "filters": filters})
    assert_json_error(response, 400, error("invalid_filter",
                                           f"filters.{key} must be a list of strings", key))


# --- the body -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/search", "/api/chat"])
@pytest.mark.parametrize("data", ['{"query": ', "{'query': 'x'}", "query=x", ""])
def test_bad_json(client: FlaskClient, path: str, data: str) -> None:
    response = client.post(path, data=data, content_type="application/json")
    assert_json_error(response, 400, error("invalid_json", "request body is not valid JSON"))


@pytest.mark.parametrize("path", ["/api/search", "/api/chat"])
@pytest.mark.parametrize("data", ["[1, 2]", '"urgent care"', "42", "true", "null"])
def test_json_that_is_not_an_object(client: FlaskClient, path: str, data: str) -> None:
    response = client.post(path, data=data, content_type="application/json")
    assert_json_error(response, 400, error("invalid_json", "request body must be a JSON object"))


@pytest.mark.parametrize("path", ["/api/search", "/api/chat"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_wrong_content_type(client: FlaskClient, path: str, content_type: str) -> None:
    response = client.post(path, data='{"query": "urgent care"}', content_type=content_type)
    mimetype = content_type.split(";")[0]
    assert_json_error(response, 415, error(
        "unsupported_media_type",
        f"send JSON with Content-Type: application/json (got {mimetype!r})"))


@pytest.mark.parametrize("path", ["/api/search", "/api/chat"])
def test_no_content_type(client: FlaskClient, path: str) -> None:
    response = client.post(path, data=b'{"query": "urgent care"}')
    assert_json_error(response, 415, error(
        "unsupported_media_type",
        "send JSON with Content-Type: application/json (got 'no content type')"))


@pytest.mark.parametrize("path", ["/api/search", "/api/chat"])
def test_body_over_the_limit(bundled_index: Path, embedder: Any, path: str) -> None:
    app = create_app({"INDEX_DIR": str(bundled_index / "index"),
                      "CORPUS_DIR": str(bundled_index / "corpus"), "EMBEDDER": embedder,
                      "MAX_BODY_KB": 1})
    padding = "care " * 300  # 1.5 KiB
    body = {"query": QUESTION, "messages": [{"role": "user", "content": QUESTION}],
            "padding": padding}
    response = app.test_client().post(path, json=body)
    assert_json_error(response, 413, error(
        "payload_too_large",
        "request body too large: the limit is 1 KiB (1,024 bytes; PLANSEARCH_MAX_BODY_KB)"))


# --- chat messages ----------------------------------------------------------------------

@pytest.mark.parametrize(("body", "message"), [
    ({}, "messages must be a non-empty list of {role, content} objects"),
    ({"messages": []}, "messages must be a non-empty list of {role, content} objects"),
    ({"messages": "what about Staffordshire?"},
     "messages must be a non-empty list of {role, content} objects"),
    ({"messages": [{"role": "system", "content": "be brief"}]},
     "messages[0].role must be 'user' or 'assistant'"),
    ({"messages": [{"content": QUESTION}]}, "messages[0].role must be 'user' or 'assistant'"),
    ({"messages": ["what about Staffordshire?"]},
     "messages[0].role must be 'user' or 'assistant'"),
    ({"messages": [{"role": "user", "content": QUESTION}, {"role": "bot", "content": "ok"},
                   {"role": "user", "content": "and Staffordshire?"}]},
     "messages[1].role must be 'user' or 'assistant'"),
    ({"messages": [{"role": "user", "content": ""}]},
     "messages[0].content must be a non-empty string"),
    ({"messages": [{"role": "user", "content": "   "}]},
     "messages[0].content must be a non-empty string"),
    ({"messages": [{"role": "user"}]}, "messages[0].content must be a non-empty string"),
    ({"messages": [{"role": "user", "content": 7}]},
     "messages[0].content must be a non-empty string"),
    ({"messages": [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": ""},
                   {"role": "user", "content": "and Staffordshire?"}]},
     "messages[1].content must be a non-empty string"),
    ({"messages": [{"role": "user", "content": QUESTION},
                   {"role": "assistant", "content": "Urgent care is being reviewed. [1]"}]},
     "the last message must be the user's question"),
    ({"messages": [{"role": "user", "content": QUESTION}] * 51},
     "messages may hold at most 50 turns"),
])
def test_chat_rejects_bad_messages(client: FlaskClient, body: dict[str, Any],
                                   message: str) -> None:
    response = client.post("/api/chat", json=body)
    assert_json_error(response, 400, error("invalid_messages", message))


def test_chat_question_over_1000_characters(client: FlaskClient) -> None:
    response = client.post("/api/chat", json={"messages": [
        {"role": "user", "content": QUESTION}, {"role": "assistant", "content": "y" * 2000},
        {"role": "user", "content": "x" * 1001}]})
    # a long assistant turn is fine: only the user's questions are searched
    assert_json_error(response, 400, error(
        "invalid_messages", "messages[2].content must be at most 1000 characters (got 1001)"))


# --- routing ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/nope", "/api/search/extra", "/api", "/api/"])
def test_unknown_api_path_is_a_json_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert_json_error(response, 404, error(
        "not_found", f"no such endpoint: {path}; see /api/openapi.json"))


@pytest.mark.parametrize(("method", "path"), [
    ("DELETE", "/api/search"), ("PUT", "/api/search"), ("GET", "/api/chat"),
    ("POST", "/api/health"), ("PUT", "/api/documents"), ("PATCH", "/api/documents/x"),
])
def test_wrong_method_is_a_json_405(client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method)
    assert_json_error(response, 405, error(
        "method_not_allowed", f"method {method} is not allowed on {path}"))


def test_json_405_keeps_the_allow_header(client: FlaskClient) -> None:
    response = client.delete("/api/search")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_html_pages_keep_html_errors(client: FlaskClient) -> None:
    for path in ("/nope", "/documents/no-such-document", "/documents/no-such-document/file"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.mimetype == "text/html"
        assert "<" in response.get_data(as_text=True)
        assert "Traceback" not in response.get_data(as_text=True)


# --- no index ---------------------------------------------------------------------------

@pytest.fixture
def unbuilt_app(tmp_path: Path, fake_embedder: Any) -> Flask:
    index = tmp_path / "index"
    index.mkdir()
    return create_app({"INDEX_DIR": str(index), "CORPUS_DIR": str(tmp_path / "corpus"),
                       "EMBEDDER": fake_embedder})


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/search?q=urgent+care", None),
    ("POST", "/api/search", {"query": "urgent care"}),
    ("POST", "/api/chat", {"messages": [{"role": "user", "content": "urgent care"}]}),
    ("GET", "/api/documents", None),
    ("GET", "/api/documents/anything", None),
])
def test_no_index_is_a_503_naming_the_build_command(unbuilt_app: Flask, tmp_path: Path,
                                                    method: str, path: str,
                                                    body: dict[str, Any] | None) -> None:
    response = unbuilt_app.test_client().open(path, method=method, json=body)
    message = f"no index has been built yet in {tmp_path / 'index'}; {REPAIR_HINT}"
    assert_json_error(response, 503, error("index_not_ready", message))
    assert "make index" in message and "build_index.py" in message


def test_health_without_an_index_is_503_down(unbuilt_app: Flask, tmp_path: Path) -> None:
    response = unbuilt_app.test_client().get("/api/health")
    assert response.status_code == 503
    body = response.get_json()
    disk = body.pop("disk")  # issue #23: the index disk is reported even when down
    problem = f"no index has been built yet in {tmp_path / 'index'}; {REPAIR_HINT}"
    assert body == {
        "status": "down", "problem": problem,
        "model": "fake-embedder", "store": {"backend": "embedded"}, "last_failed_build": None,
        # issue 28: the one error shape too, beside the fields health always had
        "error": {"code": "index_not_ready", "message": problem}}
    assert (disk["writable"], disk["problem"]) == (True, None)


def test_validation_still_comes_first_without_an_index(unbuilt_app: Flask) -> None:
    response = unbuilt_app.test_client().get("/api/search", query_string={"q": ""})
    assert_json_error(response, 400, error("invalid_query", "q must be a non-empty string"))


def test_pages_without_an_index_are_not_json(unbuilt_app: Flask) -> None:
    client = unbuilt_app.test_client()
    assert client.get("/").status_code == 200
    response = client.get("/documents/anything")
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert "make index" in response.get_data(as_text=True)


# --- security headers -------------------------------------------------------------------

def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/"), ("GET", "/api/health"), ("GET", "/api/openapi.json"),
    ("GET", "/api/documents"), ("GET", "/api/search"), ("GET", "/api/nope"),
    ("DELETE", "/api/search"), ("GET", "/nope"),
    ("GET", "/documents/gloucestershire-stp-community-partner-bulletin-1-txt"),
    ("POST", "/api/chat"),
])
def test_every_response_carries_the_security_headers(client: FlaskClient, method: str,
                                                     path: str) -> None:
    response = client.open(path, method=method)
    csp = csp_directives(response.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp.get("script-src", csp["default-src"])
    assert "'unsafe-eval'" not in csp.get("script-src", csp["default-src"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_original_files_get_a_stricter_sandboxing_policy(client: FlaskClient) -> None:
    response = client.get("/documents/gloucestershire-stp-community-partner-bulletin-1-txt/file")
    csp = csp_directives(response.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "sandbox" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    response.close()


def test_security_headers_on_the_no_index_503(unbuilt_app: Flask) -> None:
    response = unbuilt_app.test_client().get("/api/search?q=care")
    assert response.status_code == 503
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_k_as_a_string_in_json_is_refused(client: FlaskClient) -> None:
    response = client.post("/api/search", json={"query": QUESTION, "k": "5"})
    assert_json_error(response, 400, error("invalid_parameter",
                                           "k must be an integer between 1 and 50"))


# --- hostile input (issue #12, defect 5): 400s in the error shape, never 500s -------------

LONE_SURROGATE = "urgent care \ud800"


# superscript 2, Arabic-Indic 3, fullwidth 5: str.isdigit() accepts them, int() not all
@pytest.mark.parametrize("k", ["\u00b2", "\u0663", "\uff15"])
def test_a_non_ascii_digit_k_is_a_400(client: FlaskClient, k: str) -> None:
    response = client.get("/api/search", query_string={"q": "care", "k": k})
    assert_json_error(response, 400, error("invalid_parameter", K_MESSAGE))


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_a_lone_surrogate_in_a_posted_query_is_a_400(client: FlaskClient, mode: str) -> None:
    response = client.post("/api/search", json={"query": LONE_SURROGATE, "mode": mode})
    assert_json_error(response, 400, error(
        "invalid_query", "query must be valid Unicode text (it holds a lone surrogate)"))


def test_a_lone_surrogate_in_a_chat_message_is_a_400(client: FlaskClient) -> None:
    response = client.post("/api/chat", json={"messages": [
        {"role": "user", "content": LONE_SURROGATE}], "mode": "keyword"})
    assert_json_error(response, 400, error(
        "invalid_messages",
        "messages[0].content must be valid Unicode text (it holds a lone surrogate)"))


def test_a_lone_surrogate_in_a_filter_is_a_400(client: FlaskClient) -> None:
    response = client.post("/api/search", json={"query": "care",
                                                 "filters": {"area": ["\udfff"]}})
    assert_json_error(response, 400, error("invalid_filter",
                                           "filters.area must be a list of strings", "area"))


@pytest.mark.parametrize("path", ["/api/search", "/api/chat"])
def test_deeply_nested_json_is_a_400(client: FlaskClient, path: str) -> None:
    response = client.post(path, data="[" * 20000, content_type="application/json")
    assert_json_error(response, 400, error("invalid_json", "request body is nested too deeply"))


@pytest.mark.parametrize("chunk", ["9223372036854775808", "-9223372036854775809", "1" * 40])
def test_an_out_of_range_chunk_is_an_html_400(client: FlaskClient, chunk: str) -> None:
    doc = "gloucestershire-stp-community-partner-bulletin-1-txt"
    response = client.get(f"/documents/{doc}?chunk={chunk}")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "chunk must be a chunk id" in response.get_data(as_text=True)


def test_an_over_long_non_ascii_get_query_gets_the_json_error(client: FlaskClient) -> None:
    response = client.get("/api/search", query_string={"q": "é" * 1001})
    assert_json_error(response, 400, error("invalid_query",
                                           "q must be at most 1000 characters (got 1001)"))


def test_gunicorn_lets_a_1000_character_non_ascii_query_reach_flask() -> None:
    # 1,000 two-byte characters percent-encode to 6,000 bytes: over gunicorn's default
    # request-line limit (4,094), which answered with its own HTML 414 page
    from service.web import gunicorn_conf

    request_line = f"GET /api/search?q={'%C3%A9' * 1001}&k=5 HTTP/1.1"
    assert len(request_line) <= gunicorn_conf.limit_request_line
