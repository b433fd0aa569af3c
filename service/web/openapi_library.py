"""The OpenAPI description of the library (issue 26): the filters every search, chat and
document list takes, the facets they answer with, and the paged, sorted document list."""

from __future__ import annotations

import copy
from typing import Any

from service.retrieval.catalogue import MAX_LIMIT, SORTS
from service.web.filter_params import MAX_VALUES
from service.web.openapi_parts import NULLABLE_STRING, ref
from service.web.paging import DEFAULT_LIMIT, MAX_PAGE

STRINGS = {"type": "array", "maxItems": MAX_VALUES, "items": {"type": "string", "minLength": 1}}
ONE_OR_MORE = {"oneOf": [{"type": "string", "minLength": 1}, STRINGS]}
BOUND = {"description": "a year (2019), a month (2019-09) or a date (2019-09-26); the n-th "
                        "published_from pairs with the n-th published_to, a missing one "
                        "is open, and a document's parsed date must fall in one range"}
FILTER_DESCRIPTIONS = {
    "area": "documents about this area (an ICS name); repeat for any of several",
    "document": "this document id; repeat for any of several",
    "type": "documents of this kind (plan, bulletin, case study, news item, or another the "
            "index holds); an unknown kind is a 400. Called `kind` on /api/v1 and `type` on "
            "the deprecated unversioned paths",
    "publisher": "documents from this publisher (any case)",
    "published_from": "published on or after: " + BOUND["description"],
    "published_to": "published on or before (a year reaches 31 December): " +
                    BOUND["description"],
    "year": "published in this year (2019); the values of the year facet. Each is one "
            "more range, like a published_from and published_to pair",
}
FACET_VALUES = {"type": "array", "items": {
    "type": "object", "required": ["value", "count"], "properties": {
        "value": {"type": "string"}, "count": {"type": "integer", "minimum": 1}}}}
SCHEMAS: dict[str, Any] = {
    "Facets": {"type": "object", "required": ["area", "type", "publisher", "year"],
               "description": "For each facet, the values the filtered library holds and "
                              "how many documents (not passages) have each. A facet counts "
                              "the documents every other filter allows, so the values of a "
                              "facet already narrowed on stay listed.",
               "properties": {name: FACET_VALUES for name in ("area", "type", "publisher",
                                                             "year")}},
    "AreaCoverage": {"type": "object", "required": ["area", "documents", "newest_published"],
                     "properties": {"area": {"type": "string"},
                                    "documents": {"type": "integer", "minimum": 0},
                                    "newest_published": NULLABLE_STRING,
                                    "newest_indexed": NULLABLE_STRING}},
}
LISTING_PARAMETERS = [
    {"name": "sort", "in": "query", "schema": {"type": "string", "enum": [
        *SORTS, *(f"-{s}" for s in SORTS)]}, "description": "the order; a leading '-' "
     "reverses it. Documents without the value (no area, no date) come last. Default title"},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                "maximum": MAX_LIMIT},
     "description": f"documents in this page: on /api/v1 default {DEFAULT_LIMIT}, at most "
                    f"{MAX_PAGE}; on the deprecated /api/documents at most {MAX_LIMIT}, and "
                    "without it, every document"},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0},
     "description": "documents skipped before this page"},
    {"name": "cursor", "in": "query", "schema": {"type": "string"},
     "description": "the previous page's next_cursor (instead of offset)"},
]


def filter_parameters() -> list[dict[str, Any]]:
    return [{"name": name, "in": "query", "style": "form", "explode": True,
             "description": text, "schema": {"type": "array", "items": {"type": "string"}}}
            for name, text in FILTER_DESCRIPTIONS.items()]


def add_library(spec: dict[str, Any]) -> None:
    """Add the filters, facets and document list to the spec's existing parts."""
    schemas = spec["components"]["schemas"]
    schemas.update(copy.deepcopy(SCHEMAS))
    schemas["Error"]["properties"]["error"]["properties"]["field"] = {
        "type": "string", "description": "the parameter to fix (a filter's own name, in "
                                         "the query string or in `filters`)"}
    schemas["Filters"]["properties"] = {name: {**ONE_OR_MORE, "description": text}
                                        for name, text in FILTER_DESCRIPTIONS.items()}
    schemas["DocumentRef"]["properties"]["published_date"] = {
        **NULLABLE_STRING, "format": "date", "description": "`published` read as a date "
        "(a month reads as its first day, a financial year 2019/20 as 1 April 2019)"}
    schemas["SearchResponse"]["properties"]["facets"] = {
        "oneOf": [ref("Facets"), {"type": "null"}]}
    document = schemas["Document"]["properties"]
    document["published_date"] = schemas["DocumentRef"]["properties"]["published_date"]
    document["reading_url"] = {"type": "string", "description": "the reading view"}
    listing = schemas["DocumentList"]["properties"]
    listing["total"] = {"type": "integer", "description": "documents the filters select, "
                                                          "over every page"}
    listing["limit"] = {"type": ["integer", "null"]}
    listing["offset"] = {"type": "integer", "minimum": 0}
    listing["next_cursor"] = {**NULLABLE_STRING, "description": "pass as `cursor` for the "
                              "next page; null on the last, or without a limit"}
    listing["facets"] = ref("Facets")
    schemas["DocumentList"]["required"] = list(listing)  # every one is always sent
    paths = spec["paths"]
    for path in ("/api/search", "/api/search.csv"):  # the CSV takes every filter too
        search = paths[path]["get"]
        search["parameters"] = [*[p for p in search["parameters"] if p["name"] not in
                                  FILTER_DESCRIPTIONS], *filter_parameters()]
    documents = paths["/api/documents"]["get"]
    documents["parameters"] = [*filter_parameters(), *LISTING_PARAMETERS]
    documents["summary"] = "Indexed documents (filtered, sorted, paged) and files that failed"
    documents["responses"]["400"] = copy.deepcopy(paths["/api/search"]["get"]["responses"]
                                                  ["400"])
