"""The JSON API and the document routes, through the Flask test client, on the five
bundled plans indexed with the real model (and a tiny generated PDF where pages matter)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from paths import SERVICE
from pdf_factory import make_report_pdf

from service.indexing.build import build_index
from service.web.app import create_app

GLOUCESTERSHIRE = "gloucestershire-stp-community-partner-bulletin-1-txt"
STAFFORDSHIRE = "Staffordshire and Stoke-on-Trent"
URGENT_CARE_QUESTION = "what are Gloucestershire's urgent care plans"
PLANNED_CARE = "planned care waiting times"
RESULT_FIELDS = {"rank", "score", "text", "page", "page_end", "page_label", "section", "chunk_id",
                 "chunk_ids", "highlights", "document", "url", "citation", "ocr",
                 "other_area", "highlight_page"}
DOCUMENT_REF_FIELDS = {"id", "title", "area", "path", "source_url", "published", "publisher",
                       "type", "published_date"}
SEARCH_FIELDS = {"query", "mode", "took_ms", "interpreted", "timings_ms", "coverage",
                 "results", "facets"}
TEMPLATES = SERVICE / "web" / "templates"


@pytest.fixture
def pdf_client(tmp_path: Path, embedder: Any) -> FlaskClient:
    """A one-document index of a four-page generated PDF."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_report_pdf(corpus / "example-plan.pdf")
    build_index(corpus, tmp_path / "index", embedder)
    app = create_app({"INDEX_DIR": str(tmp_path / "index"), "CORPUS_DIR": str(corpus),
                      "EMBEDDER": embedder})
    return app.test_client()


def schema_validator(spec: dict[str, Any], name: str) -> Draft202012Validator:
    """Validates a payload against one of the spec's component schemas."""
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                 "components": spec["components"]})


def assert_matches_schema(client: FlaskClient, payload: Any, name: str) -> None:
    """`payload` from an unversioned path: its own schema where its names differ from
    v1's (issue 28: `type`, not `kind` and `format`)."""
    spec = client.get("/api/openapi.json").get_json()
    if f"{name}Unversioned" in spec["components"]["schemas"]:
        name = f"{name}Unversioned"
    errors = [error.message for error in schema_validator(spec, name).iter_errors(payload)]
    assert errors == []


# --- search ---------------------------------------------------------------------------

def test_get_search_returns_every_documented_field(client: FlaskClient) -> None:
    response = client.get("/api/search", query_string={"q": PLANNED_CARE})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == SEARCH_FIELDS
    assert body["query"] == PLANNED_CARE
    assert body["mode"] == "hybrid"
    assert body["took_ms"] >= 0
    assert len(body["results"]) == 5  # the default k
    for rank, result in enumerate(body["results"], start=1):
        assert set(result) == RESULT_FIELDS
        assert set(result["document"]) == DOCUMENT_REF_FIELDS
        assert result["rank"] == rank
        assert 0 <= result["score"] <= 1
        assert 1 <= result["page"] <= result["page_end"]
        assert result["chunk_id"] == result["chunk_ids"][0]
        assert result["text"].strip()
    assert body["coverage"] == {"status": "answered", "message": None, "area": None}
    assert not any(result["other_area"] for result in body["results"])
    assert_matches_schema(client, body, "SearchResponse")


def test_post_search_matches_get_search(client: FlaskClient) -> None:
    query = "reducing variation in musculoskeletal pathways"
    posted = client.post("/api/search", json={"query": query, "k": 3})
    got = client.get("/api/search", query_string={"q": query, "k": 3})
    assert posted.status_code == got.status_code == 200
    assert posted.get_json()["results"] == got.get_json()["results"]
    assert_matches_schema(client, posted.get_json(), "SearchResponse")


def test_gloucestershire_urgent_care_question_finds_the_gloucestershire_plan(
        client: FlaskClient) -> None:
    response = client.get("/api/search?q=what+are+Gloucestershire%27s+urgent+care+plans")
    assert response.status_code == 200
    body = response.get_json()
    assert body["query"] == URGENT_CARE_QUESTION
    assert body["interpreted"] == {"area": "Gloucestershire"}
    top = body["results"][0]
    assert top["document"]["id"] == GLOUCESTERSHIRE
    assert top["document"]["area"] == "Gloucestershire"
    assert "urgent care" in top["text"].lower()


@pytest.mark.parametrize("k", [1, 2, 3, 5, 7])
def test_k_sets_the_number_of_results(client: FlaskClient, k: int) -> None:
    got = client.get("/api/search", query_string={"q": URGENT_CARE_QUESTION, "k": k}).get_json()
    posted = client.post("/api/search", json={"query": URGENT_CARE_QUESTION, "k": k}).get_json()
    assert len(got["results"]) == k
    assert len(posted["results"]) == k


def test_k_larger_than_the_corpus_returns_what_there_is(client: FlaskClient) -> None:
    body = client.get("/api/search", query_string={"q": URGENT_CARE_QUESTION, "k": 50}
                      ).get_json()
    assert 5 <= len(body["results"]) <= 50
    assert [r["rank"] for r in body["results"]] == list(range(1, len(body["results"]) + 1))


def test_area_filter_keeps_every_result_in_the_area(client: FlaskClient) -> None:
    got = client.get("/api/search", query_string={"q": "reducing costs", "area": STAFFORDSHIRE,
                                                  "k": 10}).get_json()
    posted = client.post("/api/search", json={"query": "reducing costs", "k": 10,
                                              "filters": {"area": [STAFFORDSHIRE]}}).get_json()
    for body in (got, posted):
        assert body["results"]
        assert {r["document"]["area"] for r in body["results"]} == {STAFFORDSHIRE}


def test_several_areas_are_a_union(client: FlaskClient) -> None:
    areas = [STAFFORDSHIRE, "Gloucestershire"]
    body = client.get("/api/search", query_string=[("q", "reducing costs"), ("k", 10),
                                                   ("area", areas[0]), ("area", areas[1])]
                      ).get_json()
    assert body["results"]
    assert {r["document"]["area"] for r in body["results"]} <= set(areas)


def test_document_filter_keeps_every_result_in_the_document(client: FlaskClient) -> None:
    got = client.get("/api/search", query_string={"q": "hospital demand", "k": 10,
                                                  "document": GLOUCESTERSHIRE}).get_json()
    posted = client.post("/api/search", json={"query": "hospital demand", "k": 10,
                                              "filters": {"document": [GLOUCESTERSHIRE]}}
                         ).get_json()
    for body in (got, posted):
        assert body["results"]
        assert {r["document"]["id"] for r in body["results"]} == {GLOUCESTERSHIRE}


def test_area_and_document_filters_combine(client: FlaskClient) -> None:
    body = client.post("/api/search", json={"query": "hospital demand", "k": 10, "filters": {
        "area": ["Gloucestershire"], "document": [GLOUCESTERSHIRE]}}).get_json()
    assert body["results"]
    assert {r["document"]["id"] for r in body["results"]} == {GLOUCESTERSHIRE}


def test_highlights_are_sentence_spans_inside_the_text(client: FlaskClient) -> None:
    body = client.get("/api/search", query_string={"q": URGENT_CARE_QUESTION, "k": 50}
                      ).get_json()
    for result in body["results"]:
        assert 1 <= len(result["highlights"]) <= 2
        previous_end = 0
        for start, end in result["highlights"]:
            assert previous_end <= start < end <= len(result["text"])
            assert result["text"][start:end].strip()
            previous_end = end


def test_top_highlight_is_about_urgent_care(client: FlaskClient) -> None:
    top = client.get("/api/search", query_string={"q": URGENT_CARE_QUESTION}
                     ).get_json()["results"][0]
    highlighted = " ".join(top["text"][s:e] for s, e in top["highlights"]).lower()
    assert "urgent" in highlighted


def test_text_passage_url_opens_the_reading_view(client: FlaskClient) -> None:
    body = client.get("/api/search", query_string={"q": PLANNED_CARE}).get_json()
    for result in body["results"]:
        doc, chunk = result["document"]["id"], result["chunk_id"]
        # a merged passage names every chunk it holds, so the reading view marks them all
        chunks = "&".join(f"chunk={i}" for i in result["chunk_ids"])
        assert result["chunk_ids"][0] == chunk
        assert result["url"] == f"/documents/{doc}?{chunks}#chunk-{chunk}"


def test_document_path_is_relative_to_the_corpus(client: FlaskClient, bundled_index: Path) -> None:
    body = client.get("/api/search", query_string={"q": PLANNED_CARE}).get_json()
    for result in body["results"]:
        path = result["document"]["path"]
        assert not Path(path).is_absolute()
        assert (bundled_index / "corpus" / path).is_file()


def test_citation_names_title_page_and_section(client: FlaskClient) -> None:
    top = client.get("/api/search", query_string={"q": URGENT_CARE_QUESTION}
                     ).get_json()["results"][0]
    assert top["citation"].startswith(f"{top['document']['title']}, p.{top['page']}")
    assert top["document"]["type"] == "bulletin"  # from the bundled text's front matter


def test_citation_names_the_publisher_and_date_the_document_states(client: FlaskClient
                                                                   ) -> None:
    found = client.get("/api/search", query_string={
        "q": "Coventry and Warwickshire five year plan", "k": 10}).get_json()["results"]
    plan = next(r for r in found if r["document"]["type"] == "plan")
    assert plan["document"]["publisher"] == \
        "Coventry and Warwickshire Health and Care Partnership"
    assert plan["citation"].startswith(
        "Our Strategic Five Year Health and Care Plan 2019/20 – 2023/24 (Coventry and "
        "Warwickshire Health and Care Partnership, 2019-09-26), p.")
    listed = client.get(f"/api/documents/{plan['document']['id']}").get_json()
    assert (listed["publisher"], listed["type"]) == (plan["document"]["publisher"], "plan")


# --- PDFs: page-true links --------------------------------------------------------------

def page_texts(pdf: Path) -> list[str]:
    with pdfplumber.open(pdf) as document:
        return [" ".join((page.extract_text() or "").split()) for page in document.pages]


@pytest.mark.parametrize("query", ["crisis cafes open in each town",
                                   "delivery board chaired by the chief executive",
                                   "transformation budget table by programme"])
def test_pdf_passage_url_opens_the_file_at_its_page(pdf_client: FlaskClient, query: str,
                                                    tmp_path: Path) -> None:
    pages = page_texts(tmp_path / "corpus" / "example-plan.pdf")
    body = pdf_client.get("/api/search", query_string={"q": query, "k": 3}).get_json()
    assert body["results"]
    for result in body["results"]:
        chunks = "".join(f"&chunk={i}" for i in result["chunk_ids"])
        opened = result["highlight_page"]
        assert result["url"] == f"/documents/example-plan-pdf/pdf?page={opened}{chunks}"
        assert result["page"] <= opened <= result["page_end"]
        # page-true: the passage starts on its page, and the highlighted sentence is
        # printed on the page the link opens
        assert " ".join(result["text"].split()[:8]) in pages[result["page"] - 1]
        start, end = result["highlights"][0]
        assert " ".join(result["text"][start:end].split()[:6]) in pages[opened - 1]


def test_pdf_file_is_served_as_an_attachment(pdf_client: FlaskClient, tmp_path: Path) -> None:
    """Issue 23: inline, Chromium's viewer would run the PDF's own JavaScript."""
    response = pdf_client.get("/documents/example-plan-pdf/file")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == "attachment; filename=example-plan.pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data == (tmp_path / "corpus" / "example-plan.pdf").read_bytes()
    assert "sandbox" in response.headers["Content-Security-Policy"]
    response.close()


def test_text_file_is_served_as_plain_text(client: FlaskClient, bundled_index: Path) -> None:
    response = client.get(f"/documents/{GLOUCESTERSHIRE}/file")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.data == (bundled_index / "corpus" /
                             "gloucestershire-stp-community-partner-bulletin-1.txt").read_bytes()
    response.close()


def test_unknown_document_file_is_404(client: FlaskClient) -> None:
    response = client.get("/documents/no-such-document/file")
    assert response.status_code == 404


# --- the reading view ---------------------------------------------------------------------

@pytest.mark.skipif(not (TEMPLATES / "document.html").exists(),
                    reason="service/templates/document.html (the reading view) is not written yet")
def test_reading_view_highlights_the_chunk(client: FlaskClient) -> None:
    top = client.get("/api/search", query_string={"q": URGENT_CARE_QUESTION}
                     ).get_json()["results"][0]
    response = client.get(top["url"].split("#")[0])
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert f'id="chunk-{top["chunk_id"]}"' in html
    assert "reviewing urgent care services across the county" in html
    assert top["document"]["title"] in html


def test_reading_view_of_unknown_document_is_an_html_404(client: FlaskClient) -> None:
    response = client.get("/documents/no-such-document?chunk=1")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


# --- documents, health, OpenAPI -------------------------------------------------------------

def test_documents_lists_the_five_plans(client: FlaskClient, bundled_index: Path) -> None:
    response = client.get("/api/documents")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"documents", "failed", "total", "limit", "offset", "next_cursor",
                         "facets"}
    assert (body["total"], body["limit"], body["offset"], body["next_cursor"]) == \
        (5, None, 0, None)  # every one
    assert body["failed"] == []
    paths = sorted(p.name for p in (bundled_index / "corpus").iterdir())
    assert sorted(d["path"] for d in body["documents"]) == paths
    for document in body["documents"]:
        assert document["pages"] >= 1
        assert document["chunks"] >= 1
        assert document["indexed_at"]
        assert document["title"]
        assert document["file_url"] == f"/documents/{document['id']}/file"
    areas = {d["id"]: d["area"] for d in body["documents"]}
    assert areas[GLOUCESTERSHIRE] == "Gloucestershire"
    assert_matches_schema(client, body, "DocumentList")


def test_documents_lists_failed_files_with_reasons(tmp_path: Path, fake_embedder: Any) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "plan.txt").write_text("Same day emergency care will open seven days a week.\n")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not really a PDF")
    build_index(corpus, tmp_path / "index", fake_embedder)
    app = create_app({"INDEX_DIR": str(tmp_path / "index"), "CORPUS_DIR": str(corpus),
                      "EMBEDDER": fake_embedder})
    body = app.test_client().get("/api/documents").get_json()
    assert [d["path"] for d in body["documents"]] == ["plan.txt"]
    assert [f["path"] for f in body["failed"]] == ["broken.pdf"]
    assert body["failed"][0]["reason"]


def test_one_document(client: FlaskClient) -> None:
    listed = {d["id"]: d for d in client.get("/api/documents").get_json()["documents"]}
    response = client.get(f"/api/documents/{GLOUCESTERSHIRE}")
    assert response.status_code == 200
    assert response.get_json() == listed[GLOUCESTERSHIRE]
    assert_matches_schema(client, response.get_json(), "Document")


def test_unknown_document_is_a_json_404(client: FlaskClient) -> None:
    response = client.get("/api/documents/no-such-document")
    assert response.status_code == 404
    assert response.get_json() == {"error": {
        "code": "not_found",
        "message": "no document with id 'no-such-document'; see /api/documents"}}


def test_health(client: FlaskClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["documents"] == 5
    assert body["chunks"] == sum(d["chunks"] for d in
                                 client.get("/api/documents").get_json()["documents"])
    assert body["generation"] == "gen-000001"
    assert body["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", body["built_at"])
    assert_matches_schema(client, body, "Health")


def test_openapi_is_valid_openapi_3_1(client: FlaskClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_openapi_documents_every_api_route(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        assert path in spec["paths"], f"{rule.rule} is not in the OpenAPI spec"
        methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
        assert methods <= set(spec["paths"][path]), f"{rule.rule}: {methods}"


def test_openapi_error_schema_matches_real_errors(client: FlaskClient) -> None:
    body = client.get("/api/search").get_json()
    assert_matches_schema(client, body, "Error")


def test_the_spec_requires_every_field_a_search_always_sends() -> None:
    """Issue 28: fields always sent are `required`, so a client may rely on them; and the
    defaults a GET search applies are stated."""
    from service.web.openapi import openapi_spec

    spec = openapi_spec()
    schemas = spec["components"]["schemas"]
    assert set(schemas["Result"]["required"]) == RESULT_FIELDS
    assert set(schemas["SearchResponse"]["required"]) == SEARCH_FIELDS
    assert set(schemas["DocumentRef"]["required"]) <= DOCUMENT_REF_FIELDS
    parameters = {p["name"]: p["schema"] for p in
                  spec["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert (parameters["k"]["default"], parameters["mode"]["default"]) == (5, "hybrid")
