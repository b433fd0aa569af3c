"""The error catalogue (issue 28): every `error.code` the API answers with, its HTTP
status(es) and what it means. The OpenAPI description and docs/api.md list these;
tests/web/test_error_catalogue.py walks the source and fails on a code raised that is not
here, or listed here and never raised."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    statuses: tuple[int, ...]
    meaning: str
    # the code a bare status answers with, when no more specific code is given
    default: bool = False


ERROR_CODES: dict[str, ErrorCode] = {
    "bad_request": ErrorCode((400,), "the request is malformed in a way no more specific "
                                     "code covers; the message says how", default=True),
    "invalid_json": ErrorCode((400,), "the body is not JSON, not an object, or nested too "
                                      "deeply"),
    "invalid_query": ErrorCode((400,), "the question (`q`, `query`, `question`) is missing, "
                                       "empty, over 1,000 characters or not valid Unicode"),
    "invalid_parameter": ErrorCode((400,), "a parameter is out of range or of the wrong kind "
                                           "(`k`, `mode`, `limit`, `cursor`, `offset`, "
                                           "`sort`, `days`, `full`, `replace`, the feed's)"),
    "invalid_filter": ErrorCode((400,), "a filter is of the wrong shape, unknown, or names "
                                        "an area, document, type or date the index lacks"),
    "invalid_messages": ErrorCode((400,), "chat `messages` is not a list of 1 to 50 "
                                          "{role, content} turns ending with the user's"),
    "invalid_compare": ErrorCode((400,), "compare's areas, documents or question cannot "
                                         "make two or more columns"),
    "invalid_feedback": ErrorCode((400,), "feedback's helpful, reason, verdict or chunk_ids "
                                          "is wrong"),
    "invalid_upload": ErrorCode((400,), "an upload holds no file"),
    "invalid_metadata": ErrorCode((400,), "an upload's title, area, source_url or other "
                                          "metadata is too long or malformed"),
    "invalid_name": ErrorCode((400,), "an uploaded file's name has nothing usable in it"),
    "csrf_invalid": ErrorCode((400,), "a POST riding on the page's session cookie lacks its "
                                      "X-CSRF-Token"),
    "unauthorized": ErrorCode((401,), "no read key, admin token or sign-in, or a wrong one",
                              default=True),
    "admin_disabled": ErrorCode((403,), "the admin endpoints are off: no "
                                        "PLANSEARCH_ADMIN_TOKEN is set"),
    "not_found": ErrorCode((404,), "no such endpoint, document or job", default=True),
    "method_not_allowed": ErrorCode((405,), "the path exists, not with this method (see "
                                            "Allow)", default=True),
    "job_finished": ErrorCode((409,), "the job to cancel has already finished"),
    "name_conflict": ErrorCode((409,), "an uploaded file's name (or its document id) is "
                                       "taken; send replace=true, or rename it"),
    "length_required": ErrorCode((411,), "a chunked body where the server cannot read "
                                         "one: send Content-Length", default=True),
    "payload_too_large": ErrorCode((413,), "the body is over its limit "
                                           "(PLANSEARCH_MAX_BODY_KB, or "
                                           "PLANSEARCH_MAX_UPLOAD_MB for uploads)",
                                   default=True),
    "unsupported_media_type": ErrorCode((415,), "the wrong Content-Type, or an uploaded "
                                                "file that is not PDF, .docx, HTML or text",
                                        default=True),
    "rate_limited": ErrorCode((429,), "over the rate limit; retry after Retry-After "
                                      "seconds", default=True),
    "internal_error": ErrorCode((500,), "a bug; the server log has the details",
                                default=True),
    "index_not_ready": ErrorCode((503,), "no usable index; the message names the command "
                                         "to run", default=True),
    "store_unavailable": ErrorCode((503,), "the Milvus server cannot be reached; retry "
                                           "after Retry-After seconds"),
    "over_time_budget": ErrorCode((503,), "the request ran past "
                                          "PLANSEARCH_REQUEST_BUDGET_S; retry after "
                                          "Retry-After seconds"),
    "busy": ErrorCode((503,), "every chat slot is taken; retry after Retry-After seconds"),
    "insufficient_storage": ErrorCode((507,), "the disk is too full to take the upload or "
                                              "record the job; nothing was written",
                                      default=True),
    "error": ErrorCode((), "any other HTTP error; the status says which"),
}
FALLBACK_CODE = "error"
# a status answered without a more specific code -> its code
HTTP_CODES = {entry.statuses[0]: code for code, entry in ERROR_CODES.items() if entry.default}


def codes_for(status: int) -> list[str]:
    """The codes an answer with this status may carry."""
    return [code for code, entry in ERROR_CODES.items() if status in entry.statuses]
