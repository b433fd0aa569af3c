"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from service.retrieval import DEFAULT_MODE
from service.retrieval.options import MAX_K, MAX_QUERY, MODES
from service.web.openapi_admin import ADMIN_SCHEMAS, admin_operations
from service.web.openapi_compare import COMPARE_SCHEMAS, compare_operations
from service.web.openapi_compare import READ_OPERATIONS as COMPARE_READS
from service.web.openapi_library import add_library
from service.web.openapi_parts import (
    DOCUMENT_TYPE,
    NULLABLE_STRING,
    NULLABLE_TIMESTAMP,
    TIMESTAMP,
    error_responses,
    ok,
    ref,
)
from service.web.openapi_renames import versioned
from service.web.openapi_versions import add_error_catalogue
from service.web.paging import MAX_RESULTS
from service.web.versions import package_version

OFFSET = {"type": "integer", "minimum": 0, "maximum": MAX_RESULTS - 1, "default": 0,
          "description": f"results skipped before this page; k + offset at most "
                         f"{MAX_RESULTS}. Ranks count from the first result of all"}
MODE = {"type": "string", "enum": list(MODES), "default": DEFAULT_MODE}
SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "field": {"type": "string", "description": "the request parameter "
                                 "to fix, when one is to blame"}}}}},
    "Filters": {"type": "object", "additionalProperties": False, "properties": {
        "area": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "document": {"type": "array", "items": {"type": "string", "minLength": 1}}}},
    "DocumentRef": {"type": "object", "required": ["id", "title", "area", "path", "source_url"],
                    "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                                   "area": NULLABLE_STRING, "path": {"type": "string"},
                                   "source_url": NULLABLE_STRING,
                                   "published": NULLABLE_STRING,
                                   "publisher": NULLABLE_STRING,
                                   "type": DOCUMENT_TYPE}},
    "Coverage": {
        "type": "object", "required": ["status", "message", "area"],
        "description": "Whether the indexed plans cover the question. not_found: the "
                       "question names an area with no indexed documents, or no passage "
                       "clears the calibrated relevance threshold; weak: the best passage is "
                       "between the two thresholds, or the named area has documents but "
                       "none of its passages is relevant; answered otherwise. The results "
                       "are still listed, as the closest passages.",
        "properties": {
            "status": {"type": "string", "enum": ["answered", "weak", "not_found"]},
            "message": {**NULLABLE_STRING, "description": "What to tell the reader; null "
                        "when answered"},
            "area": {"type": ["object", "null"], "required": ["name", "documents"],
                     "description": "The area the question names (gazetteer), or null",
                     "properties": {"name": {"type": "string"},
                                    "documents": {"type": "integer", "minimum": 0}}}}},
    "Result": {"type": "object", "required": [
        "rank", "score", "text", "page", "page_end", "page_label", "section", "chunk_id",
        "highlights", "document", "url", "highlight_page", "chunk_ids", "other_area",
        "citation", "ocr"], "properties": {
        "rank": {"type": "integer", "minimum": 1},
        "score": {"type": "number", "minimum": 0, "maximum": 1,
                  "description": "Calibrated relevance: the estimated probability that the "
                                 "passage answers the question, comparable across questions"},
        "other_area": {"type": "boolean", "description": "The question names an area and "
                       "this passage's document is about another one"},
        "text": {"type": "string"}, "page": {"type": "integer", "minimum": 1},
        "page_end": {"type": "integer", "minimum": 1},
        "highlight_page": {"type": "integer", "minimum": 1,
                           "description": "The page the first highlighted sentence is "
                                          "printed on, between page and page_end: `url` "
                                          "opens a PDF there"},
        "page_label": NULLABLE_STRING,
        "section": {"type": "string"}, "chunk_id": {"type": "integer"},
        "chunk_ids": {"type": "array", "items": {"type": "integer"}},
        "highlights": {"type": "array", "items": {"type": "array", "items": {"type": "integer"},
                                                  "minItems": 2, "maxItems": 2}},
        "document": ref("DocumentRef"), "url": {"type": "string"},
        "citation": {"type": "string"},
        "ocr": {"type": "boolean", "description": "some of the passage was read by OCR from "
                                                  "an image of the page: check it against "
                                                  "the original"}}},
    "SearchRequest": {"type": "object", "required": ["query"], "properties": {
        "query": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY},
        "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 5},
        "offset": OFFSET,
        "mode": MODE,
        "filters": ref("Filters")}},
    "SearchResponse": {"type": "object", "required": ["query", "mode", "took_ms", "interpreted",
                                                      "timings_ms", "coverage", "results",
                                                      "facets"],
                       "properties": {
                           "query": {"type": "string"}, "mode": {"type": "string"},
                           "took_ms": {"type": "number"},
                           "interpreted": {"type": "object",
                                           "properties": {"area": {"type": "string"}}},
                           "timings_ms": {"type": "object",
                                          "additionalProperties": {"type": "number"}},
                           "coverage": ref("Coverage"),
                           "results": {"type": "array", "items": ref("Result")}}},
    "Message": {"type": "object", "required": ["role", "content"], "properties": {
        "role": {"type": "string", "enum": ["user", "assistant"]},
        "content": {"type": "string", "minLength": 1, "description": "a user message is at "
                    f"most {MAX_QUERY} characters; an assistant message has no limit"}}},
    "ChatRequest": {"type": "object", "required": ["messages"], "properties": {
        "messages": {"type": "array", "minItems": 1, "maxItems": 50, "items": ref("Message")},
        "k": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
        "offset": OFFSET,
        "mode": MODE,
        "filters": ref("Filters")}},
    "ChatResponse": {"allOf": [ref("SearchResponse"), {
        "type": "object", "required": ["query_used", "answer"], "properties": {
            "query_used": {"type": "string"},
            "answer": {"type": "object", "required": ["text", "citations"], "properties": {
                "text": {"type": "string"},
                "citations": {"type": "array", "items": {"type": "object", "properties": {
                    "marker": {"type": "integer"}, "rank": {"type": "integer"},
                    "chunk_id": {"type": "integer"}, "document_id": {"type": "string"},
                    "page": {"type": "integer"}, "citation": {"type": "string"}}}}}}}}]},
    "Document": {"type": "object", "required": ["id", "title", "path", "pages", "chunks"],
                 "properties": {
                     "id": {"type": "string"}, "title": {"type": "string"},
                     "area": NULLABLE_STRING, "path": {"type": "string"},
                     "source_url": NULLABLE_STRING, "published": NULLABLE_STRING,
                     "publisher": NULLABLE_STRING, "type": DOCUMENT_TYPE,
                     "pages": {"type": "integer"}, "chunks": {"type": "integer"},
                     "indexed_at": TIMESTAMP, "sha256": {"type": "string"},
                     "size": {"type": "integer"}, "file_url": {"type": "string"},
                     "warnings": {"type": "array", "items": {"type": "string"}},
                     # what a PDF would run in a viewer; flagged, still indexed (issue 23)
                     "active_content": {"type": "array", "items": {
                         "type": "string", "enum": ["javascript", "launch"]}}}},
    "DocumentList": {"type": "object", "required": ["documents", "failed"], "properties": {
        "documents": {"type": "array", "items": ref("Document")},
        "failed": {"type": "array", "items": {"type": "object", "required": ["path", "reason"],
                                              "properties": {"path": {"type": "string"},
                                                             "reason": {"type": "string"},
                                                             "failed_at": TIMESTAMP}}}}},
    "Health": {"type": "object", "required": ["status"], "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded", "down"]},
        "problem": NULLABLE_STRING, "bad_generation": NULLABLE_STRING,
        "documents": {"type": "integer"},
        "chunks": {"type": "integer"}, "generation": {"type": "string"},
        "model": {"type": "string"}, "built_at": NULLABLE_TIMESTAMP,
        "store": {"type": "object", "required": ["backend"], "properties": {
            "backend": {"type": "string", "enum": ["embedded", "milvus-lite", "milvus"]},
            "connected": {"type": "boolean"}}},
        "disk": {"type": "object", "description": "the index disk: below min_free_bytes, "
                 "or refusing a small write, status is degraded with problem 'index disk "
                 "full'", "properties": {
                     "free_bytes": {"type": "integer"}, "min_free_bytes": {"type": "integer"},
                     "writable": {"type": "boolean"}, "problem": NULLABLE_STRING}},
        "last_failed_build": {"type": ["object", "null"], "description": "the newest build "
                              "job when it failed, and why in words; null once one succeeds",
                              "properties": {"job_id": {"type": "string"},
                                             "kind": {"type": "string"},
                                             "finished_at": TIMESTAMP,
                                             "reason": NULLABLE_STRING}}}},
}

QUERY_PARAMETERS = [
    {"name": "q", "in": "query", "required": True,
     "schema": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY}},
    {"name": "k", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_K,
                                            "default": 5}},
    {"name": "mode", "in": "query", "schema": MODE},
    {"name": "area", "in": "query", "schema": {"type": "array", "items": {"type": "string"}},
     "style": "form", "explode": True},
    {"name": "document", "in": "query", "schema": {"type": "array", "items": {"type": "string"}},
     "style": "form", "explode": True},
]


# What opens the read operations; the empty alternative is PLANSEARCH_ACCESS=open. The
# browser's session cookie (with X-CSRF-Token on a POST) is for the page, not for tools.
READ_OPERATIONS = {"searchGet", "searchPost", "chat", "documents", "document", "documentsFeed",
                   *COMPARE_READS}
READ_SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}, {"apiKeyHeader": []},
                                             {"adminToken": []}, {}]


def mark_read_security(paths: dict[str, Any]) -> None:
    """The read operations accept a read key (either header) or the admin token."""
    for operations in paths.values():
        for operation in operations.values():
            if operation["operationId"] in READ_OPERATIONS:
                operation["security"] = READ_SECURITY


def feed_operation() -> dict[str, Any]:
    """GET /api/documents/feed.atom (issue 27): Atom, not JSON, except for its errors."""
    return {"summary": "Atom feed of newly indexed documents, newest first",
            "operationId": "documentsFeed", "parameters": [
                {"name": name, "in": "query", "schema": {"type": "string", "maxLength": 200},
                 "description": f"only documents of this {name} (case-insensitive)"}
                for name in ("area", "type")],
            "responses": {"200": {"description": "Atom 1.0 (RFC 4287)", "content": {
                "application/atom+xml": {"schema": {"type": "string"}}}},
                **error_responses(400, 401, 503)}}


def body(schema: str) -> dict[str, Any]:
    """A required JSON request body of the named schema."""
    return {"required": True, "content": {"application/json": {"schema": ref(schema)}}}


DESCRIPTION = ("Search NHS health-and-care plans; every passage carries its document, page, "
               "section and a link that opens it there. The contract is /api/v1; each "
               "/api/v1/X is also served at /api/X, deprecated (Deprecation and Link "
               "headers). info.version is the package version.")


def openapi_spec() -> dict[str, Any]:
    doc_id = [{"name": "doc_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Plansearch API", "version": package_version(),
                 "description": DESCRIPTION},
        "paths": {
            "/api/search": {
                "get": {"summary": "Search passages", "operationId": "searchGet",
                        "parameters": [*QUERY_PARAMETERS, {"name": "offset", "in": "query",
                                                           "schema": OFFSET}],
                        "responses": {**ok("SearchResponse"),
                                      **error_responses(400, 401, 429, 503)}},
                "post": {"summary": "Search passages (JSON body)", "operationId": "searchPost",
                         "requestBody": body("SearchRequest"),
                         "responses": {**ok("SearchResponse"),
                                       **error_responses(400, 401, 413, 415, 429, 503)}}},
            "/api/chat": {"post": {
                "summary": "Answer the last question of a conversation, with citations",
                "operationId": "chat", "requestBody": body("ChatRequest"),
                "responses": {**ok("ChatResponse"),
                              **error_responses(400, 401, 413, 415, 429, 503)}}},
            "/api/documents": {"get": {
                "summary": "Indexed documents and files that failed", "operationId": "documents",
                "responses": {**ok("DocumentList"), **error_responses(401, 503)}}},
            "/api/documents/{doc_id}": {"get": {
                "summary": "One document's metadata", "operationId": "document",
                "parameters": doc_id,
                "responses": {**ok("Document"), **error_responses(401, 404, 503)}}},
            "/api/health": {"get": {
                "summary": "Service and index status", "operationId": "health",
                "responses": {**ok("Health"), "503": {
                    "description": "No usable index: the health fields, and the error object "
                                   "(index_not_ready, or store_unavailable with Retry-After)",
                    "content": {"application/json": {"schema": {
                        "allOf": [ref("Health"), ref("Error")]}}}}}}},
            "/api/openapi.json": {"get": {
                "summary": "This document", "operationId": "openapi",
                "responses": {"200": {"description": "OpenAPI 3.1",
                                      "content": {"application/json": {
                                          "schema": {"type": "object"}}}}}}},
        },
        "components": {"schemas": SCHEMAS | ADMIN_SCHEMAS | COMPARE_SCHEMAS, "securitySchemes": {
            "adminToken": {"type": "http", "scheme": "bearer",
                           "description": "PLANSEARCH_ADMIN_TOKEN"},
            "apiKey": {"type": "http", "scheme": "bearer",
                       "description": "one of PLANSEARCH_API_KEYS (PLANSEARCH_ACCESS keys "
                                      "or sso)"},
            "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                             "description": "the same read key, in its own header"}}},
    }
    spec["paths"].update(compare_operations(QUERY_PARAMETERS)
                         | {"/api/documents/feed.atom": {"get": feed_operation()}})
    add_library(spec)
    mark_read_security(spec["paths"])
    for path, operations in admin_operations().items():
        spec["paths"].setdefault(path, {}).update(operations)
    versioned(spec)
    add_error_catalogue(spec["components"]["schemas"]["Error"])
    return spec
