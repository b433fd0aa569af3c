"""Pieces every part of the OpenAPI description uses: schema references, the error and
success responses, nullable types."""

from __future__ import annotations

from typing import Any

from service.web.error_codes import codes_for


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def error_responses(*statuses: int) -> dict[str, Any]:
    text = {400: "Invalid request", 401: "Missing or wrong token or API key",
            403: "Admin endpoints are disabled (no PLANSEARCH_ADMIN_TOKEN)", 404: "Not found",
            405: "Method not allowed", 409: "Name already taken", 413: "Body too large",
            415: "Wrong content type", 429: "Rate limited",
            503: "No usable index (the message names the command to run); or the request "
                 "ran past PLANSEARCH_REQUEST_BUDGET_S, every chat slot was busy, or the "
                 "Milvus server could not be reached (these three with Retry-After)",
            507: "The disk is too full to take the upload or record the job "
                 "(insufficient_storage); nothing was written"}
    return {str(s): {"description": f"{text[s]}. Codes: {', '.join(codes_for(s))}",
                     "content": {"application/json": {"schema": ref("Error")}}}
            for s in statuses}


def ok(schema: str, description: str = "OK") -> dict[str, Any]:
    return {"200": {"description": description,
                    "content": {"application/json": {"schema": ref(schema)}}}}


NULLABLE_STRING = {"type": ["string", "null"]}
# every timestamp the API sends is ISO 8601 in UTC, e.g. 2026-12-07T13:52:59.803+00:00
TIMESTAMP = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC"}
NULLABLE_TIMESTAMP = {**TIMESTAMP, "type": ["string", "null"]}
DOCUMENT_TYPE = {"type": ["string", "null"], "description": "what kind of document it is, as "
                 "its front matter says: plan, bulletin, case study, news item, ..."}
