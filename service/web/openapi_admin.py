"""The admin endpoints' part of the OpenAPI description: uploads, jobs, deletions."""

from __future__ import annotations

from typing import Any

from service.web.openapi_parts import (
    NULLABLE_STRING,
    NULLABLE_TIMESTAMP,
    TIMESTAMP,
    error_responses,
    ok,
    ref,
)
from service.web.paging import DEFAULT_LIMIT, MAX_PAGE

PAGE_PARAMETERS = [
    {"name": "limit", "in": "query", "description": f"jobs in this page (default "
     f"{DEFAULT_LIMIT}; 20 on the deprecated /api/jobs)",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
    {"name": "cursor", "in": "query", "description": "the previous page's next_cursor",
     "schema": {"type": "string"}}]

JOB_FILE = {"type": "object", "required": ["name", "status"], "properties": {
    "name": {"type": "string"}, "document_id": {"type": "string"},
    "type": {"type": "string", "enum": ["pdf", "docx", "html", "text"],
             "description": "the file's format, read from its bytes"},
    "sha256": {"type": "string"}, "size": {"type": "integer"},
    "status": {"type": "string", "enum": ["queued", "duplicate", "indexed", "removed", "failed",
                                          "cancelled"]},
    "reason": {"type": "string"}, "job_id": NULLABLE_STRING, "moved_to": NULLABLE_STRING,
    # a watch job's files: what the watched corpus folder saw happen to each
    "change": {"type": "string", "enum": ["added", "changed", "moved", "removed"]},
    "moved_from": {"type": "string"}}}
NULLABLE_COUNT = {"type": ["integer", "null"], "minimum": 0}
ADMIN_SCHEMAS: dict[str, Any] = {
    "JobFile": JOB_FILE,
    "Upload": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "title": {"type": "string", "maxLength": 300},
        "area": {"type": "string", "maxLength": 120},
        "source_url": {"type": "string", "maxLength": 2000},
        "publisher": {"type": "string", "maxLength": 200},
        "published": {"type": "string", "maxLength": 40},
        "type": {"type": "string", "maxLength": 40,
                 "description": "the document's kind: plan, bulletin, case study, ..."},
        "replace": {"type": "string", "enum": ["true", "false"]}}},
    "UploadResult": {"type": "object", "required": ["status", "job_id", "files"], "properties": {
        "status": {"type": "string", "enum": ["queued", "duplicate"]},
        "job_id": NULLABLE_STRING, "job_url": NULLABLE_STRING, "document_id": NULLABLE_STRING,
        "files": {"type": "array", "items": ref("JobFile")}}},
    "JobQueued": {"type": "object", "required": ["status", "job_id", "job_url"], "properties": {
        "status": {"const": "queued"}, "job_id": {"type": "string"},
        "job_url": {"type": "string"}, "document_id": {"type": "string"},
        "moved_to": NULLABLE_STRING}},
    "Job": {"type": "object", "required": ["id", "kind", "status", "files", "progress", "errors",
                                           "created_at"], "properties": {
        "id": {"type": "string"}, "kind": {"type": "string", "enum": ["upload", "delete",
                                                                      "reindex", "watch"]},
        # "cancelling" only in the answer to DELETE of a running job
        "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed",
                                              "cancelled", "cancelling"]},
        "cancel_requested": {"type": "boolean"},
        "full": {"type": "boolean"}, "files": {"type": "array", "items": ref("JobFile")},
        "progress": {"type": "object", "properties": {
            "phase": {"type": "string"}, "documents_done": NULLABLE_COUNT,
            "documents_total": NULLABLE_COUNT, "chunks_done": NULLABLE_COUNT,
            "chunks_total": NULLABLE_COUNT, "chunks_per_s": {"type": ["number", "null"]},
            "eta_s": NULLABLE_COUNT}},
        "errors": {"type": "array", "items": {"type": "object", "required": ["file", "reason"],
                                              "properties": {"file": {"type": "string"},
                                                             "reason": {"type": "string"}}}},
        "message": NULLABLE_STRING, "report": {"type": ["object", "null"]},
        "builder_pid": {"type": ["integer", "null"]}, "retry_of": NULLABLE_STRING,
        # why the server queued this job itself (no usable index generation), else null
        "cause": NULLABLE_STRING,
        "created_at": TIMESTAMP, "started_at": NULLABLE_TIMESTAMP,
        "finished_at": NULLABLE_TIMESTAMP}},
    "JobList": {"type": "object", "required": ["jobs", "next_cursor"], "properties": {
        "jobs": {"type": "array", "items": ref("Job")},
        "next_cursor": {**NULLABLE_STRING, "description": "pass as `cursor` for the next "
                        "page; null on the last"}}},
}


def admin_operations() -> dict[str, dict[str, Any]]:
    """The admin endpoints, keyed by path then method. All need the admin token."""
    secured: dict[str, Any] = {"security": [{"adminToken": []}]}
    denied = error_responses(401, 403, 429)
    job_id = [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    doc_id = [{"name": "doc_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    return {
        "/api/documents": {"post": {
            **secured, "summary": "Upload documents; they are indexed by a background job",
            "operationId": "upload", "requestBody": {"required": True, "content": {
                "multipart/form-data": {"schema": ref("Upload")}}},
            "responses": {"202": {"description": "Queued", "content": {"application/json": {
                "schema": ref("UploadResult")}}},
                **ok("UploadResult", "Byte-identical to an indexed or queued document"),
                **denied, **error_responses(400, 409, 413, 415, 507)}}},
        "/api/documents/{doc_id}": {"delete": {
            **secured, "summary": "Remove a document (its file moves to corpus/.deleted/)",
            "operationId": "deleteDocument", "parameters": doc_id,
            "responses": {"202": {"description": "Queued", "content": {"application/json": {
                "schema": ref("JobQueued")}}}, **denied, **error_responses(404, 503, 507)}}},
        "/api/reindex": {"post": {
            **secured, "summary": "Start a build job", "operationId": "reindex",
            "parameters": [{"name": "full", "in": "query",
                            "schema": {"type": "string", "enum": ["true", "false"]}}],
            "responses": {"202": {"description": "Queued", "content": {"application/json": {
                "schema": ref("JobQueued")}}}, **denied, **error_responses(400, 507)}}},
        "/api/jobs": {"get": {
            **secured, "summary": "Recent jobs, newest first, a page at a time",
            "operationId": "jobs", "parameters": PAGE_PARAMETERS,
            "responses": {**ok("JobList"), **denied, **error_responses(400)}}},
        "/api/jobs/{job_id}": {"get": {
            **secured, "summary": "One job's status, progress and per-file errors",
            "operationId": "job", "parameters": job_id,
            "responses": {**ok("Job"), **denied, **error_responses(404)}},
            "delete": {
            **secured, "summary": "Cancel a job: a queued one at once, a running build at its "
            "next checkpoint (the live generation keeps serving); an upload's files move to "
            "corpus/.deleted/", "operationId": "cancelJob", "parameters": job_id,
            "responses": {**ok("Job", "Cancelled"), "202": {
                "description": "Cancelling: the build stops at its next checkpoint",
                "content": {"application/json": {"schema": ref("Job")}}},
                **denied, **error_responses(404, 409)}}},
    }
