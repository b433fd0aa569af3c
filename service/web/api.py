"""The JSON API blueprint: search, chat, documents, health and the OpenAPI spec."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import BadRequest

from service.retrieval import budget
from service.retrieval.chat import Turn
from service.retrieval.chat import answer as answer_chat
from service.retrieval.options import MAX_K, MAX_QUERY
from service.retrieval.search import DEFAULT_MODE, MODES, SearchResult
from service.web.access import client_identity
from service.web.bodies import read_body
from service.web.errors import ApiError
from service.web.feed import atom_feed, feed_filters
from service.web.filter_params import filters_from_body, filters_from_query, is_encodable
from service.web.health import health_report
from service.web.library import document_listing, public_document
from service.web.openapi import openapi_spec
from service.web.paging import MAX_RESULTS
from service.web.question_log import record_search
from service.web.renames import coverage_out, document_out, facets_out, hits_out
from service.web.versions import api_path

blueprint = Blueprint("api", __name__, url_prefix="/api")


@blueprint.before_request
def start_budget() -> None:
    """Every API request gets PLANSEARCH_REQUEST_BUDGET_S; checkpoints enforce it."""
    g.budget = budget.start(float(current_app.config["REQUEST_BUDGET_S"]))


@blueprint.teardown_request
def end_budget(error: BaseException | None) -> None:
    if "budget" in g:
        budget.end(g.pop("budget"))


def live() -> Any:
    return current_app.extensions["plansearch"]


def json_body() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError(415, f"send JSON with Content-Type: application/json (got "
                            f"{request.mimetype or 'no content type'!r})")
    read_body()  # 413 past the limit, chunked or not; get_json then parses what it cached
    try:
        body = request.get_json()
    except BadRequest:
        raise ApiError(400, "request body is not valid JSON", "invalid_json") from None
    except RecursionError:  # e.g. 20,000 nested [ inside the 64 KiB body limit
        raise ApiError(400, "request body is nested too deeply", "invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object", "invalid_json")
    return body


def check_query(value: Any, name: str = "query") -> str:
    if value is None:
        raise ApiError(400, f"{name} is required", "invalid_query")
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"{name} must be a non-empty string", "invalid_query")
    if not is_encodable(value):
        raise ApiError(400, f"{name} must be valid Unicode text (it holds a lone surrogate)",
                       "invalid_query")
    if len(value) > MAX_QUERY:
        raise ApiError(400, f"{name} must be at most {MAX_QUERY} characters (got {len(value)})",
                       "invalid_query")
    return value.strip()


def check_k(value: Any, from_query_string: bool = False) -> int:
    if value is None:
        return 5
    # isascii: str.isdigit() also accepts "²", which int() refuses
    if from_query_string and value.strip().lstrip("-").isascii() \
            and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_K:
        raise ApiError(400, f"k must be an integer between 1 and {MAX_K}", "invalid_parameter")
    return value


def check_mode(value: Any) -> str:
    if value is None:
        return DEFAULT_MODE
    if value not in MODES:
        raise ApiError(400, f"mode must be one of {', '.join(MODES)}", "invalid_parameter")
    return str(value)


def result_payload(result: SearchResult, started: float) -> dict[str, Any]:
    return {
        "query": result.query,
        "mode": result.mode,
        "took_ms": round((time.perf_counter() - started) * 1000, 2),
        "interpreted": result.interpreted,
        "timings_ms": result.timings,
        "coverage": coverage_out(result.coverage.to_dict() if result.coverage else None),
        "results": hits_out([hit.to_dict() for hit in result.hits]),
        "facets": facets_out(result.facets),
    }


def check_offset(value: Any, k: int, from_query_string: bool = False) -> int:
    """Results skipped before this page (issue 28); k + offset is at most MAX_RESULTS."""
    if value is None or value == "":
        return 0
    if from_query_string and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= \
            MAX_RESULTS - k:
        raise ApiError(400, f"offset must be a whole number from 0 to {MAX_RESULTS} - k "
                            f"(k + offset at most {MAX_RESULTS})", "invalid_parameter",
                       "offset")
    return value


@blueprint.route("/search", methods=["GET", "POST"])
def search() -> Response:
    started = time.perf_counter()
    if request.method == "POST":
        body = json_body()
        query, k = check_query(body.get("query")), check_k(body.get("k"))
        mode, filters = check_mode(body.get("mode")), filters_from_body(body.get("filters"))
        offset = check_offset(body.get("offset"), k)
    else:
        query = check_query(request.args.get("q"), "q")
        k = check_k(request.args.get("k"), from_query_string=True)
        mode = check_mode(request.args.get("mode"))
        filters = filters_from_query(request.args)
        offset = check_offset(request.args.get("offset"), k, from_query_string=True)
    result = live().answer(lambda searcher: searcher.search(query, k + offset, mode, filters))
    result = replace(result, hits=result.hits[offset:])  # ranks stay those of the whole list
    budget.checkpoint("search")
    record_search("search", query, filters, verdict_of(result), result.hits)
    return jsonify(result_payload(result, started))


def verdict_of(result: SearchResult) -> str | None:
    return result.coverage.status if result.coverage else None


def check_messages(value: Any) -> list[Turn]:
    if not isinstance(value, list) or not value:
        raise ApiError(400, "messages must be a non-empty list of {role, content} objects",
                       "invalid_messages")
    if len(value) > 50:
        raise ApiError(400, "messages may hold at most 50 turns", "invalid_messages")
    turns = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or item.get("role") not in ("user", "assistant"):
            raise ApiError(400, f"messages[{i}].role must be 'user' or 'assistant'",
                           "invalid_messages")
        content = item.get("content")
        if not isinstance(content, str) or not content.strip():
            raise ApiError(400, f"messages[{i}].content must be a non-empty string",
                           "invalid_messages")
        if not is_encodable(content):
            raise ApiError(400, f"messages[{i}].content must be valid Unicode text (it holds a "
                                "lone surrogate)", "invalid_messages")
        if item["role"] == "user" and len(content) > MAX_QUERY:
            raise ApiError(400, f"messages[{i}].content must be at most {MAX_QUERY} characters "
                                f"(got {len(content)})", "invalid_messages")
        turns.append(Turn(item["role"], content))
    if turns[-1].role != "user":
        raise ApiError(400, "the last message must be the user's question", "invalid_messages")
    return turns


@blueprint.post("/chat")
def chat() -> Response:
    started = time.perf_counter()
    # the slot comes first: refusing a chat must cost less than reading one
    with current_app.extensions["plansearch_chat_slots"].hold(client_identity()):
        body = json_body()
        turns = check_messages(body.get("messages"))
        k, filters = check_k(body.get("k")), filters_from_body(body.get("filters"))
        mode, offset = check_mode(body.get("mode")), check_offset(body.get("offset"), k)
        answered = answer_chat(live(), turns, k, mode, filters, offset)
        payload = result_payload(answered.search_result, started)
        payload["query_used"] = answered.query_used
        payload["answer"] = answered.answer.to_dict()
    record_search("chat", answered.query_used, filters, verdict_of(answered.search_result),
                  answered.search_result.hits, answered.answer.citations)
    payload["took_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return jsonify(payload)


@blueprint.get("/documents")
def documents() -> Response:
    return jsonify(live().answer(lambda searcher: document_listing(searcher, public_document)))


@blueprint.get("/documents/feed.atom")
def documents_feed() -> Response:
    """Newly indexed documents as Atom (issue 27); see service/web/feed.py."""
    filters = feed_filters(request.args)
    listed = live().answer(lambda searcher: searcher.generation.documents())
    return Response(atom_feed(listed, filters, request.url_root),
                    content_type="application/atom+xml; charset=utf-8")


@blueprint.get("/documents/<doc_id>")
def document(doc_id: str) -> Response:
    found = live().answer(lambda searcher: searcher.generation.document(doc_id))
    if found is None:
        raise ApiError(404, f"no document with id {doc_id!r}; see {api_path('/documents')}")
    return jsonify(document_out(public_document(found)))


@blueprint.get("/health")
def health() -> Response | tuple[Response, int]:
    body, headers = health_report(live())
    response = jsonify(body)
    response.headers.update(headers)
    return (response, 503) if body["status"] == "down" else response


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_spec())
