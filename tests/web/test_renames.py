"""The v1 names (issue 28): on /api/v1 a document's kind is `kind` (documents, search and
chat results, compare columns, facets, filters, the feed's parameter) and a file's format
is `format` (a job's and an upload's files); `type` means neither there. The deprecated
unversioned paths keep `type` for both, exactly as before. Each answer is checked against
the spec's schema for its own path, so the spec says the same."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from corpus_support import build_corpus
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from service.web.app import create_app
from tests.web.test_admin import AUTH, make_app, run_jobs
from tests.web.test_library_api import DOCUMENTS, QUESTION

KINDS = {"Gloucestershire five year plan": "plan", "Gloucestershire bulletin": "bulletin",
         "Staffordshire plan": "plan", "Staffordshire news": "news item"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, embedder: Any
           ) -> Iterator[FlaskClient]:
    root = tmp_path_factory.mktemp("names")
    build_corpus(root / "corpus", root / "index", embedder, DOCUMENTS)
    app = create_app({"INDEX_DIR": str(root / "index"), "CORPUS_DIR": str(root / "corpus"),
                      "EMBEDDER": embedder, "RATE_LIMIT_SEARCH": "100000/minute"})
    yield app.test_client()


def response_schema(client: FlaskClient, path: str, method: str, status: str = "200"
                    ) -> Draft202012Validator:
    spec = client.get("/api/v1/openapi.json").get_json()
    schema = spec["paths"][path][method]["responses"][status]["content"]["application/json"][
        "schema"]
    return Draft202012Validator({**schema, "components": spec["components"]})


def assert_matches_spec(client: FlaskClient, body: Any, path: str, method: str = "get",
                        status: str = "200") -> None:
    errors = [e.message for e in response_schema(client, path, method, status)
              .iter_errors(body)]
    assert errors == []


def test_v1_search_names_the_document_kind_kind(client: FlaskClient) -> None:
    body = client.get("/api/v1/search", query_string={"q": QUESTION, "kind": "plan",
                                                      "k": 10}).get_json()
    assert {r["document"]["title"] for r in body["results"]} == {
        "Gloucestershire five year plan", "Staffordshire plan"}
    for result in body["results"]:
        assert result["document"]["kind"] == "plan" and "type" not in result["document"]
    assert "type" not in body["facets"]
    assert body["facets"]["kind"][0] == {"value": "plan", "count": 2}
    assert_matches_spec(client, body, "/api/v1/search")


def test_v1_says_kind_when_a_kind_filter_selects_nothing(client: FlaskClient) -> None:
    asked = {"q": QUESTION, "kind": "news item", "area": "Gloucestershire"}
    body = client.get("/api/v1/search", query_string=asked).get_json()
    assert body["coverage"]["status"] == "not_found" and body["results"] == []
    assert "kind 'news item'" in body["coverage"]["message"]
    assert "type" not in body["coverage"]["message"]
    old = client.get("/api/search", query_string={**asked, "type": asked["kind"]}).get_json()
    assert "type 'news item'" in old["coverage"]["message"]


def test_the_unversioned_search_keeps_type(client: FlaskClient) -> None:
    body = client.get("/api/search", query_string={"q": QUESTION, "type": "plan",
                                                   "k": 10}).get_json()
    assert len(body["results"]) == 2
    for result in body["results"]:
        assert result["document"]["type"] == "plan" and "kind" not in result["document"]
    assert "kind" not in body["facets"] and body["facets"]["type"][0]["value"] == "plan"
    assert_matches_spec(client, body, "/api/search")
    # and the v1 schema would refuse it: the two paths are described apart
    assert list(response_schema(client, "/api/v1/search", "get").iter_errors(body))


def test_v1_filters_objects_take_kind(client: FlaskClient) -> None:
    body = client.post("/api/v1/search", json={"query": QUESTION, "k": 10, "filters": {
        "kind": ["bulletin", "news item"]}}).get_json()
    assert {r["document"]["kind"] for r in body["results"]} == {"bulletin", "news item"}
    assert_matches_spec(client, body, "/api/v1/search", "post")
    chat = client.post("/api/v1/chat", json={"messages": [{"role": "user", "content": QUESTION}],
                                             "filters": {"kind": "bulletin"}}).get_json()
    assert {r["document"]["kind"] for r in chat["results"]} == {"bulletin"}
    assert "type" not in chat["facets"]
    assert_matches_spec(client, chat, "/api/v1/chat", "post")


@pytest.mark.parametrize("path, request_args", [
    ("/api/v1/search", {"query_string": {"q": QUESTION, "type": "plan"}}),
    ("/api/v1/documents", {"query_string": {"type": "plan"}}),
    ("/api/v1/search.csv", {"query_string": {"q": QUESTION, "type": "plan"}}),
])
def test_v1_refuses_a_type_query_parameter_rather_than_ignore_it(
        client: FlaskClient, path: str, request_args: dict[str, Any]) -> None:
    response = client.get(path, **request_args)
    assert (response.status_code, response.get_json()["error"]) == (400, {
        "code": "invalid_filter", "field": "type",
        "message": "type is called kind on /api/v1 (the document's kind: plan, bulletin, ...)"})


def test_the_v1_sources_csv_filters_on_kind(client: FlaskClient) -> None:
    response = client.get("/api/v1/search.csv", query_string={"q": QUESTION, "k": 10,
                                                              "kind": "bulletin"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[1] for row in rows[1:]] == ["Gloucestershire bulletin"]


def test_v1_refuses_a_type_filter_in_a_body(client: FlaskClient) -> None:
    response = client.post("/api/v1/search", json={"query": QUESTION,
                                                   "filters": {"type": "plan"}})
    assert (response.status_code, response.get_json()["error"]["field"]) == (400, "type")
    assert response.get_json()["error"]["message"].startswith("filters.type is called "
                                                             "filters.kind on /api/v1")
    # the unversioned path refuses `kind` as the unknown filter it is there
    old = client.post("/api/search", json={"query": QUESTION, "filters": {"kind": "plan"}})
    assert old.get_json()["error"] == {
        "code": "invalid_filter", "field": "kind", "message": "unknown filter 'kind'; use "
        "'area', 'document', 'type', 'publisher', 'published_from', 'published_to', 'year'"}


def test_an_unknown_kind_names_the_v1_parameter(client: FlaskClient) -> None:
    response = client.get("/api/v1/search", query_string={"q": QUESTION, "kind": "leaflet"})
    assert (response.status_code, response.get_json()["error"]) == (400, {
        "code": "invalid_filter", "field": "kind",
        "message": "unknown kind filter 'leaflet'; kinds: bulletin, case study, news item, "
                   "plan"})
    old = client.get("/api/search", query_string={"q": QUESTION, "type": "leaflet"})
    assert old.get_json()["error"]["field"] == "type"
    assert old.get_json()["error"]["message"].startswith("unknown type filter 'leaflet'")


def test_v1_documents_and_one_document_carry_kind(client: FlaskClient) -> None:
    listed = client.get("/api/v1/documents", query_string={"kind": "plan"}).get_json()
    assert {d["title"]: d["kind"] for d in listed["documents"]} == {
        title: kind for title, kind in KINDS.items() if kind == "plan"}
    assert all("type" not in d for d in listed["documents"]) and "type" not in listed["facets"]
    assert_matches_spec(client, listed, "/api/v1/documents")
    one = client.get(f"/api/v1/documents/{listed['documents'][0]['id']}").get_json()
    assert (one["kind"], "type" in one) == ("plan", False)
    assert_matches_spec(client, one, "/api/v1/documents/{doc_id}")
    old = client.get(f"/api/documents/{listed['documents'][0]['id']}").get_json()
    assert (old["type"], "kind" in old) == ("plan", False)
    everything = client.get("/api/documents").get_json()
    assert {d["title"]: d["type"] for d in everything["documents"]} == KINDS
    assert_matches_spec(client, everything, "/api/documents")


def test_v1_compare_columns_carry_kind(client: FlaskClient) -> None:
    body = client.post("/api/v1/compare", json={
        "question": "urgent care", "areas": ["Gloucestershire",
                                             "Staffordshire and Stoke-on-Trent"]}).get_json()
    documents = [r["document"] for column in body["columns"] for r in column["results"]]
    assert documents and all("kind" in d and "type" not in d for d in documents)
    assert_matches_spec(client, body, "/api/v1/compare", "post")


def test_the_v1_feed_filters_on_kind(client: FlaskClient) -> None:
    feed = client.get("/api/v1/documents/feed.atom", query_string={"kind": "bulletin"})
    assert feed.status_code == 200
    assert feed.get_data(as_text=True).count("<entry>") == 1
    refused = client.get("/api/v1/documents/feed.atom", query_string={"type": "bulletin"})
    assert (refused.status_code, refused.get_json()["error"]["message"]) == (
        400, "unknown parameter 'type'; the feed takes area and kind")
    old = client.get("/api/documents/feed.atom", query_string={"type": "bulletin"})
    assert old.get_data(as_text=True).count("<entry>") == 1


def test_the_v1_spec_says_kind_and_format_and_never_type_for_either(
        client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert sum("kind" in {p["name"] for p in op.get("parameters", [])}
               for path, ops in spec["paths"].items() for op in ops.values()) >= 4
    for name in ("DocumentRef", "Document", "Facets", "Filters", "Upload"):
        assert "kind" in schemas[name]["properties"], name
        assert "type" not in schemas[name]["properties"], name
        assert "kind" not in schemas[f"{name}Unversioned"]["properties"], name
    assert "format" in schemas["JobFile"]["properties"]
    assert "type" not in schemas["JobFile"]["properties"]
    assert "type" in schemas["JobFileUnversioned"]["properties"]
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            names = {p["name"] for p in operation.get("parameters", [])}
            assert ("type" if path.startswith("/api/v1/") else "kind") not in names, path


# --- a job's and an upload's files: `format` on v1 ---------------------------------------

@pytest.fixture
def admin_app(tmp_path: Path, fake_embedder: Any) -> Flask:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    build_corpus(corpus, index, fake_embedder, {"a.txt": "# A\n\nAn urgent care plan.\n"})
    return make_app({"root": tmp_path, "corpus": corpus, "index": index}, fake_embedder)


def upload_to(client: FlaskClient, path: str, **fields: str) -> Any:
    data: dict[str, Any] = {"file": [(io.BytesIO(b"# Zebra\n\nZebra crossings near schools.\n"),
                                      "zebra.md")], **fields}
    return client.post(path, data=data, headers=AUTH, content_type="multipart/form-data")


def test_v1_job_files_name_their_format_format(admin_app: Flask) -> None:
    client = admin_app.test_client()
    uploaded = upload_to(client, "/api/v1/documents", kind="bulletin")
    assert uploaded.status_code == 202
    body = uploaded.get_json()
    assert body["files"][0]["format"] == "text" and "type" not in body["files"][0]
    assert_matches_spec(client, body, "/api/v1/documents", "post", "202")
    job_id = body["job_id"]
    one = client.get(f"/api/v1/jobs/{job_id}", headers=AUTH).get_json()
    assert (one["kind"], one["files"][0]["format"], "type" in one["files"][0]) == (
        "upload", "text", False)
    assert_matches_spec(client, one, "/api/v1/jobs/{job_id}")
    listed = client.get("/api/v1/jobs", headers=AUTH).get_json()
    assert listed["jobs"][0]["files"][0]["format"] == "text"
    assert_matches_spec(client, listed, "/api/v1/jobs")
    old = client.get(f"/api/jobs/{job_id}", headers=AUTH).get_json()
    assert (old["files"][0]["type"], "format" in old["files"][0]) == ("text", False)
    assert_matches_spec(client, old, "/api/jobs/{job_id}")
    run_jobs(admin_app)
    # the upload's `kind` field is the document's kind
    found = client.get("/api/v1/documents/zebra-md").get_json()
    assert found["kind"] == "bulletin"


def test_v1_uploads_refuse_the_type_field(admin_app: Flask) -> None:
    response = upload_to(admin_app.test_client(), "/api/v1/documents", type="plan")
    assert (response.status_code, response.get_json()["error"]) == (400, {
        "code": "invalid_metadata", "field": "type",
        "message": "on /api/v1 the document's kind is the `kind` field, not `type`"})
    old = upload_to(admin_app.test_client(), "/api/documents", type="plan")
    assert old.status_code == 202
    assert old.get_json()["files"][0]["type"] == "text"
