"""The OpenAPI part for compare, the sources CSV, feedback and the admin insights."""

from __future__ import annotations

from typing import Any

from service.retrieval import DEFAULT_MODE
from service.retrieval.compare import MAX_COLUMNS
from service.retrieval.options import MAX_K, MAX_QUERY, MODES
from service.store.question_log import REASONS, VERDICTS
from service.web.openapi_parts import TIMESTAMP, error_responses, ok, ref

COUNT = {"type": "integer", "minimum": 0}
NAMES = {"type": "array", "minItems": 2, "maxItems": MAX_COLUMNS,
         "items": {"type": "string", "minLength": 1}}
GAP = {"type": "object", "required": ["question", "normalised", "count", "last_asked"],
       "properties": {"question": {"type": "string", "description": "as most often written"},
                      "normalised": {"type": "string"}, "count": COUNT,
                      "last_asked": TIMESTAMP}}
CSV = {"content": {"text/csv": {"schema": {"type": "string"}}}}
COMPARE_SCHEMAS: dict[str, Any] = {
    "CompareRequest": {"type": "object", "required": ["question"], "properties": {
        "question": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY,
                     "description": "What to compare. Without areas or documents it must "
                                    "name two areas or more, as in 'compare Gloucestershire "
                                    "and Staffordshire urgent care'"},
        "areas": {**NAMES, "description": "One column per area, in this order (ICS names "
                                          "or aliases; an area with no documents gets a "
                                          "not_found column)"},
        "documents": {**NAMES, "description": "Instead of areas: one column per document id"},
        "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 5},
        "mode": {"type": "string", "enum": list(MODES), "default": DEFAULT_MODE},
        "filters": ref("Filters")}},
    "CompareColumn": {"type": "object", "required": ["coverage", "answer", "results"],
                      "properties": {
        "area": {"type": "string", "description": "The column's area (area columns)"},
        "document": {"type": "string", "description": "The column's document id "
                                                     "(document columns)"},
        "title": {"type": "string", "description": "The document's title (document columns)"},
        "coverage": ref("Coverage"),
        "answer": {"type": "object", "required": ["text", "citations"], "properties": {
            "text": {"type": "string"}, "citations": {"type": "array", "items": {
                "type": "object"}}}},
        "results": {"type": "array", "items": ref("Result")}}},
    "CompareResponse": {"type": "object", "required": ["question", "topic", "columns"],
                        "properties": {
        "question": {"type": "string"},
        "topic": {"type": "string", "description": "What each column searched: the question "
                                                   "without 'compare' and its places"},
        "mode": {"type": "string"}, "took_ms": {"type": "number"},
        "columns": {"type": "array", "items": ref("CompareColumn")}}},
    "FeedbackRequest": {"type": "object", "required": ["question", "helpful"], "properties": {
        "question": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY},
        "helpful": {"type": "boolean"},
        "reason": {"type": "string", "enum": list(REASONS),
                   "description": "Only when helpful is false"},
        "chunk_ids": {"type": "array", "maxItems": 5 * MAX_K, "items": {"type": "integer"},
                      "description": "The passages the answer cited (a result's chunk_ids)"},
        "verdict": {"type": "string", "enum": list(VERDICTS)},
        "filters": ref("Filters")}},
    "FeedbackResult": {"type": "object", "required": ["recorded"], "properties": {
        "recorded": {"type": "boolean", "description": "false when the question log is off"},
        "id": {"type": "string"}, "message": {"type": "string"}}},
    "Insights": {"type": "object", "required": ["days", "log", "questions", "per_day",
                                                "verdicts", "gaps", "feedback"], "properties": {
        "days": {"type": "integer", "minimum": 1},
        "log": {"type": "object", "required": ["enabled", "retention_days"], "properties": {
            "enabled": {"type": "boolean"}, "retention_days": {"type": "integer"}}},
        "questions": COUNT,
        "per_day": {"type": "array", "items": {"type": "object", "required": [
            "date", "questions"], "properties": {"date": {"type": "string", "format": "date"},
                                                 "questions": COUNT}}},
        "verdicts": {"type": "object", "required": list(VERDICTS),
                     "properties": {v: COUNT for v in VERDICTS}},
        "gaps": {"type": "object", "required": ["not_found", "weak"], "properties": {
            "not_found": {"type": "array", "items": GAP},
            "weak": {"type": "array", "items": GAP}}},
        "feedback": {"type": "object", "required": ["helpful", "not_helpful", "by_reason",
                                                    "by_document"], "properties": {
            "helpful": COUNT, "not_helpful": COUNT,
            "by_reason": {"type": "array", "items": {"type": "object", "required": [
                "reason", "count"], "properties": {"reason": {"type": "string"},
                                                   "count": COUNT}}},
            "by_document": {"type": "array", "items": {"type": "object", "required": [
                "document", "title", "count"], "properties": {
                    "document": {"type": "string"}, "title": {"type": "string"},
                    "count": COUNT}}}}}}},
}
READ_OPERATIONS = {"compare", "searchCsv", "feedback"}


def compare_operations(search_parameters: list[Any]) -> dict[str, Any]:
    """The paths, keyed by path then method; the read ones are marked by openapi.py."""
    def body(schema: str) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": ref(schema)}}}

    days = [{"name": "days", "in": "query", "description": "The last this many days "
             "(default 30, at most PLANSEARCH_QUESTION_LOG_DAYS)",
             "schema": {"type": "integer", "minimum": 1}}]
    admin: dict[str, Any] = {"security": [{"adminToken": []}]}
    return {
        "/api/compare": {"post": {
            "summary": "One question answered side by side, a column per area or document",
            "operationId": "compare", "requestBody": body("CompareRequest"),
            "responses": {**ok("CompareResponse"),
                          **error_responses(400, 401, 413, 415, 429, 503)}}},
        "/api/search.csv": {"get": {
            "summary": "A search's passages as CSV: rank, document, page, section, score, "
                       "url, text (then document_id, area, citation)",
            "operationId": "searchCsv", "parameters": search_parameters,
            "responses": {"200": {"description": "One row per passage", **CSV},
                          **error_responses(400, 401, 429, 503)}}},
        "/api/feedback": {"post": {
            "summary": "Helpful or not helpful, on one answer (stored in the question log)",
            "operationId": "feedback", "requestBody": body("FeedbackRequest"),
            "responses": {"201": {"description": "Recorded", "content": {"application/json": {
                "schema": ref("FeedbackResult")}}},
                **ok("FeedbackResult", "Not recorded: the question log is off"),
                **error_responses(400, 401, 413, 415, 429, 503)}}},
        "/api/insights": {"get": {
            **admin, "summary": "What the question log says: questions per day, verdicts, "
            "the library's gaps and unhelpful answers", "operationId": "insights",
            "parameters": days,
            "responses": {**ok("Insights"), **error_responses(400, 401, 403, 429)}}},
        "/api/insights.csv": {"get": {
            **admin, "summary": "The insights as CSV: section, item, count, detail",
            "operationId": "insightsCsv", "parameters": days,
            "responses": {"200": {"description": "One row per figure", **CSV},
                          **error_responses(400, 401, 403, 429)}}},
    }
