"""Filters, facets and the document list through the API (issue 26), on a tiny real
index built in tmp_path with the real model: every filter in a query string and in a
JSON body, a filter that excludes everything, the errors that name their parameter, the
paged and sorted list, the /library page, and the responses checked against the spec."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from corpus_support import build_corpus
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from service.web.app import create_app

QUESTION = "urgent and emergency care"


def document(title: str, area: str, doc_type: str, published: str, publisher: str,
             body: str) -> str:
    return (f'---\ntitle: "{title}"\narea: "{area}"\ntype: "{doc_type}"\n'
            f'published: "{published}"\npublisher: "{publisher}"\n---\n{body}\n')


def urgent(place: str, detail: str) -> str:
    """Distinct text for each document: identical passages would be merged as one."""
    return (f"In {place}, urgent and emergency care will be reorganised so that people get "
            f"the right advice in the right place. {detail}")

DOCUMENTS = {
    "glos-plan.txt": document("Gloucestershire five year plan", "Gloucestershire", "plan",
                              "2019-09-26", "One Gloucestershire",
                              urgent("Gloucester", "A new urgent treatment centre opens.")),
    "glos-bulletin.txt": document("Gloucestershire bulletin", "Gloucestershire", "bulletin",
                                  "March 2016", "One Gloucestershire",
                                  urgent("Cheltenham", "The minor injuries unit extends.")),
    "staffs-plan.txt": document("Staffordshire plan", "Staffordshire and Stoke-on-Trent",
                                "plan", "2019/20", "Together We're Better",
                                urgent("Stoke", "Ambulance handovers get faster.")),
    "staffs-news.txt": document("Staffordshire news", "Staffordshire and Stoke-on-Trent",
                                "news item", "reviewed 14 October 2024",
                                "Together We're Better",
                                urgent("Stafford", "NHS 111 books appointments.")),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, embedder: Any
           ) -> Iterator[FlaskClient]:
    root = tmp_path_factory.mktemp("library")
    build_corpus(root / "corpus", root / "index", embedder, DOCUMENTS)
    app = create_app({"INDEX_DIR": str(root / "index"), "CORPUS_DIR": str(root / "corpus"),
                      "EMBEDDER": embedder, "RATE_LIMIT_SEARCH": "100000/minute"})
    yield app.test_client()


def schema_errors(client: FlaskClient, payload: Any, name: str) -> list[str]:
    """Checks a payload from an unversioned path, against its own schema where its names
    differ from v1's (issue 28)."""
    spec = client.get("/api/openapi.json").get_json()
    if f"{name}Unversioned" in spec["components"]["schemas"]:
        name = f"{name}Unversioned"
    validator = Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                      "components": spec["components"]})
    return [error.message for error in validator.iter_errors(payload)]


def titles(body: dict[str, Any]) -> set[str]:
    return {r["document"]["title"] for r in body["results"]}


def test_type_and_year_filters_in_a_query_string(client: FlaskClient) -> None:
    body = client.get("/api/search", query_string=[("q", QUESTION), ("type", "plan"),
                                                   ("year", "2019"), ("k", "10")]).get_json()
    assert titles(body) == {"Gloucestershire five year plan", "Staffordshire plan"}
    assert {r["document"]["published_date"] for r in body["results"]} == {
        "2019-09-26", "2019-04-01"}
    assert {r["document"]["published"] for r in body["results"]} == {"2019-09-26", "2019/20"}
    assert body["coverage"]["status"] != "not_found"
    assert schema_errors(client, body, "SearchResponse") == []


def test_repeated_values_widen_and_fields_narrow(client: FlaskClient) -> None:
    body = client.get("/api/search", query_string=[
        ("q", QUESTION), ("k", "10"), ("type", "bulletin"), ("type", "news item"),
        ("publisher", "together we're better")]).get_json()
    assert titles(body) == {"Staffordshire news"}
    posted = client.post("/api/search", json={"query": QUESTION, "k": 10, "filters": {
        "type": ["bulletin", "news item"], "publisher": "Together We're Better"}}).get_json()
    assert posted["results"] == body["results"]


def test_date_ranges(client: FlaskClient) -> None:
    def searched(**filters: Any) -> set[str]:
        return titles(client.post("/api/search", json={
            "query": QUESTION, "k": 10, "filters": filters}).get_json())

    assert searched(published_from="2020") == {"Staffordshire news"}
    assert searched(published_to="2016-03") == {"Gloucestershire bulletin"}
    assert searched(published_from=["2016", "2024-10-01"],
                    published_to=["2016-12-31"]) == {"Gloucestershire bulletin",
                                                      "Staffordshire news"}


def test_the_chat_takes_the_same_filters(client: FlaskClient) -> None:
    body = client.post("/api/chat", json={
        "messages": [{"role": "user", "content": QUESTION}], "k": 10,
        "filters": {"area": "Gloucestershire", "type": "bulletin"}}).get_json()
    assert titles(body) == {"Gloucestershire bulletin"}
    assert body["facets"]["type"] == [{"value": "bulletin", "count": 1},
                                      {"value": "plan", "count": 1}]
    assert schema_errors(client, body, "ChatResponse") == []


def test_facets_count_documents_in_the_filtered_library(client: FlaskClient) -> None:
    body = client.get("/api/search", query_string={"q": QUESTION, "type": "plan"}).get_json()
    assert body["facets"] == {
        "area": [{"value": "Gloucestershire", "count": 1},
                 {"value": "Staffordshire and Stoke-on-Trent", "count": 1}],
        "type": [{"value": "plan", "count": 2}, {"value": "bulletin", "count": 1},
                 {"value": "news item", "count": 1}],
        "publisher": [{"value": "One Gloucestershire", "count": 1},
                      {"value": "Together We're Better", "count": 1}],
        "year": [{"value": "2019", "count": 2}],
    }


@pytest.mark.parametrize("params", [
    {"year": "2030"},
    {"area": "Cornwall and the Isles of Scilly"},  # an ICS with no documents
    {"type": "case study"},  # a known type no document has
    {"publisher": "Nobody"},
])
def test_a_filter_that_excludes_everything_is_not_found_and_named(
        client: FlaskClient, params: dict[str, str]) -> None:
    response = client.get("/api/search", query_string={"q": QUESTION, **params})
    assert response.status_code == 200
    body = response.get_json()
    assert body["results"] == []
    assert body["coverage"]["status"] == "not_found"
    name, value = next(iter(params.items()))
    named = f"published in {value}" if name == "year" else f"{name} {value!r}"
    assert body["coverage"]["message"] == (
        f"No indexed document matches the filter {named}, so nothing was searched. Remove "
        "or widen a filter to search more of the library.")
    assert schema_errors(client, body, "SearchResponse") == []


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"type": "leaflet"}, "type",
     "unknown type filter 'leaflet'; types: bulletin, case study, news item, plan"),
    ({"published_from": "last year"}, "published_from",
     "published_from must be a year (2019), a month (2019-09) or a date (2019-09-26); got "
     "'last year'"),
    ({"published_to": "2019-02-30"}, "published_to",
     "published_to must be a year (2019), a month (2019-09) or a date (2019-09-26); got "
     "'2019-02-30'"),
    ({"published_from": "2020", "published_to": "2019"}, "published_from",
     "published_from (2020) is after published_to (2019)"),
    ({"year": "2019-09"}, "year", "year must be a year such as 2019"),
])
def test_bad_filters_are_a_400_naming_the_parameter(client: FlaskClient, params: dict[str, str],
                                                   field: str, message: str) -> None:
    response = client.get("/api/search", query_string={"q": QUESTION, **params})
    assert response.status_code == 400
    error = {"code": "invalid_filter", "message": message, "field": field}
    assert response.get_json() == {"error": error}
    assert schema_errors(client, response.get_json(), "Error") == []
    listed = client.get("/api/documents", query_string=params)
    assert (listed.status_code, listed.get_json()) == (400, {"error": error})


def test_a_posted_filter_error_names_the_parameter_inside_filters(client: FlaskClient
                                                                  ) -> None:
    response = client.post("/api/search", json={"query": QUESTION,
                                                 "filters": {"published_to": ["soon"]}})
    assert response.get_json()["error"] == {
        "code": "invalid_filter", "field": "published_to",
        "message": "filters.published_to must be a year (2019), a month (2019-09) or a date "
                   "(2019-09-26); got 'soon'"}


def test_the_document_list_is_whole_without_paging(client: FlaskClient) -> None:
    body = client.get("/api/documents").get_json()
    assert [d["title"] for d in body["documents"]] == [
        "Gloucestershire bulletin", "Gloucestershire five year plan", "Staffordshire news",
        "Staffordshire plan"]
    assert (body["total"], body["limit"], body["offset"]) == (4, None, 0)
    assert schema_errors(client, body, "DocumentList") == []


def test_the_document_list_filters_sorts_and_pages(client: FlaskClient) -> None:
    body = client.get("/api/documents", query_string={
        "sort": "-published", "limit": 2, "offset": 1}).get_json()
    assert [(d["title"], d["published_date"]) for d in body["documents"]] == [
        ("Gloucestershire five year plan", "2019-09-26"), ("Staffordshire plan", "2019-04-01")]
    assert (body["total"], body["limit"], body["offset"]) == (4, 2, 1)
    first = body["documents"][0]
    assert first["reading_url"] == f"/documents/{first['id']}"
    assert {"pages", "chunks", "indexed_at", "publisher", "type", "area"} <= set(first)
    plans = client.get("/api/documents", query_string={"type": "plan", "sort": "title"}
                       ).get_json()
    assert [d["title"] for d in plans["documents"]] == ["Gloucestershire five year plan",
                                                        "Staffordshire plan"]
    assert plans["facets"]["type"][0] == {"value": "plan", "count": 2}
    assert schema_errors(client, body, "DocumentList") == []


@pytest.mark.parametrize(("params", "field"), [
    ({"sort": "size"}, "sort"), ({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit"),
    ({"offset": "-1"}, "offset"), ({"limit": "ten"}, "limit"),
])
def test_bad_listing_parameters_are_a_400(client: FlaskClient, params: dict[str, str],
                                          field: str) -> None:
    response = client.get("/api/documents", query_string=params)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_parameter"
    assert response.get_json()["error"]["field"] == field


def test_the_library_page_lists_documents_and_every_area(client: FlaskClient) -> None:
    page = client.get("/library?sort=-published").get_data(as_text=True)
    assert page.count('<tr class="is-empty">') == 40  # 42 ICSs, two with documents
    assert "2 of 42 areas" in page
    assert page.index("Staffordshire news") < page.index("Gloucestershire bulletin")
    narrowed = client.get("/library?type=bulletin").get_data(as_text=True)
    assert "Showing 1–1 of 1 document." in narrowed
    assert "Search in this document" in client.get(
        "/documents/glos-plan-txt").get_data(as_text=True)


def test_a_bad_filter_on_the_library_page_is_an_html_400(client: FlaskClient) -> None:
    response = client.get("/library?type=leaflet")
    assert (response.status_code, response.mimetype) == (400, "text/html")
    assert "unknown type filter &#39;leaflet&#39;" in response.get_data(as_text=True)
