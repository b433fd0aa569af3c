"""POST /api/compare and GET /api/search.csv (issue 26) on the five bundled plans,
indexed with the real model: columns in the order asked, each with its own verdict, an
area without documents saying so in its own column, every response checked against
the OpenAPI spec, and bad input answered 400 naming the parameter."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from service.areas import Gazetteer
from service.retrieval.compare import MAX_COLUMNS, read_compare_question

GLOUCESTERSHIRE_DOC = "gloucestershire-stp-community-partner-bulletin-1-txt"
PROGRAMME_DOC = "staffordshire-planned-care-programme-txt"
STAFFORDSHIRE = "Staffordshire and Stoke-on-Trent"


def assert_matches(client: FlaskClient, payload: Any, name: str) -> None:
    spec = client.get("/api/openapi.json").get_json()
    validator = Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                      "components": spec["components"]})
    assert [error.message for error in validator.iter_errors(payload)] == []


@pytest.mark.parametrize(("typed", "topic", "areas"), [
    ("compare Gloucestershire and Staffordshire urgent care", "urgent care",
     ("Gloucestershire", STAFFORDSHIRE)),
    ("Compare urgent care in Dorset, Gloucestershire and Staffordshire?", "urgent care",
     ("Dorset", "Gloucestershire", STAFFORDSHIRE)),
    ("compare Birmingham and Solihull with Coventry and Warwickshire on mental health",
     "mental health", ("Birmingham and Solihull", "Coventry and Warwickshire")),
])
def test_a_typed_compare_question_names_its_topic_and_areas(typed: str, topic: str,
                                                            areas: tuple[str, ...]) -> None:
    asked = read_compare_question(typed, Gazetteer.load())
    assert asked is not None and (asked.topic, asked.areas) == (topic, areas)


@pytest.mark.parametrize("typed", ["urgent care in Gloucestershire and Staffordshire",
                                   "compare Gloucestershire urgent care"])
def test_a_question_is_a_compare_only_with_the_word_and_two_areas(typed: str) -> None:
    assert read_compare_question(typed, Gazetteer.load()) is None


def test_an_area_without_documents_says_so_in_its_column(client: FlaskClient) -> None:
    response = client.post("/api/compare", json={
        "question": "compare Gloucestershire and Dorset urgent care"})
    assert response.status_code == 200
    body = response.get_json()
    assert_matches(client, body, "CompareResponse")
    assert (body["topic"], [c["area"] for c in body["columns"]]) == (
        "urgent care", ["Gloucestershire", "Dorset"])
    gloucestershire, dorset = body["columns"]
    assert gloucestershire["coverage"]["status"] == "answered"
    assert "urgent care" in gloucestershire["answer"]["text"]
    assert {r["document"]["area"] for r in gloucestershire["results"]} == {"Gloucestershire"}
    assert dorset == {"area": "Dorset", "coverage": {
        "status": "not_found", "area": {"name": "Dorset", "documents": 0},
        "message": "No documents about Dorset are indexed, so this column has no answer."},
        "answer": {"text": "No documents about Dorset are indexed, so this column has no "
                           "answer.", "citations": []}, "results": []}


def test_columns_follow_the_order_asked_each_with_its_own_verdict(client: FlaskClient
                                                                   ) -> None:
    areas = [STAFFORDSHIRE, "Birmingham and Solihull", "gloucestershire"]
    body = client.post("/api/compare", json={"question": "planned care waiting times",
                                             "areas": areas, "k": 3}).get_json()
    assert [c["area"] for c in body["columns"]] == [STAFFORDSHIRE, "Birmingham and Solihull",
                                                    "Gloucestershire"]
    statuses = [c["coverage"]["status"] for c in body["columns"]]
    assert statuses[0] == "answered" and statuses[1] == "not_found"
    birmingham = body["columns"][1]
    assert birmingham["coverage"]["message"].startswith("Birmingham and Solihull has 1 "
                                                        "document; none of its passages")
    for column in body["columns"]:
        assert len(column["results"]) <= 3
        assert {r["document"]["area"] for r in column["results"]} <= {column["area"]}


def test_documents_compare_two_plans(client: FlaskClient) -> None:
    body = client.post("/api/compare", json={
        "question": "urgent care", "documents": [GLOUCESTERSHIRE_DOC, PROGRAMME_DOC]}).get_json()
    assert_matches(client, body, "CompareResponse")
    assert [(c["document"], c["title"]) for c in body["columns"]] == [
        (GLOUCESTERSHIRE_DOC, "Community Partner E-bulletin – Issue 1"),
        (PROGRAMME_DOC, "Planned Care programme")]
    for column in body["columns"]:
        assert {r["document"]["id"] for r in column["results"]} == {column["document"]}


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"question": "urgent care", "areas": ["Dorset"] * 50}, "areas",
     f"areas must list between 2 and {MAX_COLUMNS} areas (got 50)"),
    ({"question": "urgent care", "areas": ["Gloucestershire"]}, "areas",
     f"areas must list between 2 and {MAX_COLUMNS} areas (got 1)"),
    ({"question": "urgent care", "areas": []}, "areas",
     f"areas must list between 2 and {MAX_COLUMNS} areas (got 0)"),
    ({"question": "urgent care", "areas": ["Gloucestershire", "Narnia"]}, "areas",
     "areas: 'Narnia' is not an area Plansearch knows; use an ICS name such as "
     "'Gloucestershire'"),
    ({"question": "urgent care", "areas": ["Dorset", "dorset"]}, "areas",
     "areas names 'Dorset' twice"),
    ({"question": "urgent care", "areas": "Dorset"}, "areas",
     "areas must be a list of non-empty strings"),
    ({"question": "urgent care"}, "areas",
     "areas (or documents) is required, unless the question names two areas, as in "
     "'compare Gloucestershire and Staffordshire urgent care'"),
    ({"question": "urgent care", "areas": ["Dorset", "Kent"], "documents": ["x", "y"]},
     "areas", "give either areas or documents to compare"),
    ({"question": "urgent care", "documents": [GLOUCESTERSHIRE_DOC, "nope"]}, "documents",
     "documents: no document with id 'nope'; see /api/documents for document ids"),
    ({"question": "compare Dorset and Kent"}, "question",
     "question must say what to compare, as in 'compare Gloucestershire and "
     "Staffordshire urgent care'"),
    ({"question": "urgent care", "areas": ["Dorset", "Kent"],
      "filters": {"area": ["Gloucestershire"]}}, "filters",
     "filters.area cannot be combined with areas: each column is one area"),
])
def test_bad_compare_requests_are_400s_naming_the_parameter(
        client: FlaskClient, body: dict[str, Any], field: str, message: str) -> None:
    response = client.post("/api/compare", json=body)
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": "invalid_compare", "message": message,
                                             "field": field}}
    assert_matches(client, response.get_json(), "Error")


def test_sources_csv_has_one_row_per_passage(client: FlaskClient) -> None:
    response = client.get("/api/search.csv?q=urgent+care+Gloucestershire&k=3")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="plansearch-sources.csv"'
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    searched = client.get("/api/search?q=urgent+care+Gloucestershire&k=3").get_json()
    assert [list(row)[:7] for row in rows[:1]] == [
        ["rank", "document", "page", "section", "score", "url", "text"]]
    assert [(int(r["rank"]), r["document"], r["page"], float(r["score"]), r["url"], r["text"])
            for r in rows] == [
        (h["rank"], h["document"]["title"], str(h["page"]), pytest.approx(h["score"], abs=1e-4),
         "http://localhost" + h["url"], h["text"]) for h in searched["results"]]


def test_sources_csv_of_a_failing_search_is_a_json_400(client: FlaskClient) -> None:
    response = client.get("/api/search.csv?q=urgent+care&area=Narnia")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_filter"
    assert client.get("/api/search.csv?k=3").get_json() == {"error": {
        "code": "invalid_query", "message": "q is required"}}


def test_a_formula_in_a_passage_is_written_as_text() -> None:
    from service.web.takeaway import cell

    assert [cell(v) for v in ("=HYPERLINK(1)", "+1", "-2", "@x", "plain", 3)] == [
        "'=HYPERLINK(1)", "'+1", "'-2", "'@x", "plain", "3"]
