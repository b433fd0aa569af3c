"""One JSON error shape for the API, from one helper, mapped in one place."""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from service.retrieval.budget import BudgetExceeded, ServerBusy
from service.retrieval.options import InvalidQuery
from service.store import DiskFull, IndexNotReady, StoreUnavailable
from service.web.error_codes import FALLBACK_CODE, HTTP_CODES
from service.web.renames import filter_error_out


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or HTTP_CODES.get(status, FALLBACK_CODE)
        self.field = field  # the request parameter to fix, when there is one


def error_body(status: int, message: str, code: str | None = None,
               field: str | None = None) -> dict[str, str]:
    """The `error` object: code (from the catalogue in error_codes), message, field?"""
    body = {"code": code or HTTP_CODES.get(status, FALLBACK_CODE), "message": message}
    return {**body, "field": field} if field else body


def error_response(status: int, message: str, code: str | None = None,
                   field: str | None = None) -> Response:
    response = jsonify({"error": error_body(status, message, code, field)})
    response.status_code = status
    return response


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/api"


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return error_response(error.status, error.message, error.code, error.field)

    @app.errorhandler(InvalidQuery)
    def invalid_query(error: InvalidQuery) -> Response:
        message, field = filter_error_out(str(error), getattr(error, "field", None))
        return error_response(400, message, error.code, field)

    @app.errorhandler(BudgetExceeded)
    def over_budget(error: BudgetExceeded) -> Response:
        response = error_response(503, str(error), "over_time_budget")
        response.headers["Retry-After"] = str(error.retry_after_s)
        return response

    @app.errorhandler(ServerBusy)
    def busy(error: ServerBusy) -> Response:
        response = error_response(503, str(error), "busy")
        response.headers["Retry-After"] = str(error.retry_after_s)
        return response

    app.register_error_handler(DiskFull, disk_full)
    @app.errorhandler(IndexNotReady)
    def not_ready(error: IndexNotReady) -> Response | tuple[str, int, dict[str, str]]:
        # a lost connection to the index's server is worth retrying soon
        retry = {"Retry-After": str(error.retry_after_s)} \
            if isinstance(error, StoreUnavailable) else {}
        if wants_json():
            response = error_response(503, str(error),
                                      "store_unavailable" if retry else None)
            response.headers.update(retry)
            return response
        return f"<h1>Index not ready</h1><p>{escape_text(str(error))}</p>", 503, retry

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | HTTPException:
        if not wants_json():
            return error  # HTML pages keep Flask's HTML errors
        messages = {
            404: f"no such endpoint: {request.path}; see /api/openapi.json",
            405: f"method {request.method} is not allowed on {request.path}",
            413: size_limit_message(request.max_content_length),
        }
        status = error.code or 500
        response = error_response(status, messages.get(status, error.description or error.name))
        for name, value in error.get_headers():  # e.g. Allow on a 405, Retry-After on a 429
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response | tuple[str, int]:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():  # never a stack trace to an API client
            return error_response(500, "internal error; the server log has the details")
        return "<h1>Internal error</h1>", 500


def size_limit_message(limit: int | None) -> str:
    """'request body too large: ...' naming the limit that applied to this request."""
    if limit is None:
        return "request body too large"
    size = f"{limit // 1024:,} KiB" if limit < 1024 * 1024 else f"{limit / 2 ** 20:g} MiB"
    return (f"request body too large: the limit is {size} ({limit:,} bytes; "
            "PLANSEARCH_MAX_BODY_KB)")


def disk_full(error: DiskFull) -> Response | tuple[str, int]:
    """507 for a write the disk can't take; the index and the pages still serve."""
    current_app.logger.warning("refused %s %s: %s", request.method, request.path, error)
    if wants_json():
        return error_response(507, str(error), "insufficient_storage")
    return f"<h1>Disk full</h1><p>{escape_text(str(error))}</p>", 507


def escape_text(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
