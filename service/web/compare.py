"""POST /api/compare: one question, one column per area or document. Registered on the
API blueprint (so it shares its time budget and error shape); the work is
`service.retrieval.compare`."""

from __future__ import annotations

import time
from typing import Any

from flask import Response, current_app, jsonify

from service.retrieval import budget
from service.retrieval.compare import Column, compare, compare_topic, read_compare_question
from service.web.access import client_identity
from service.web.api import blueprint, check_k, check_mode, check_query, json_body
from service.web.api import live as live_index
from service.web.errors import ApiError
from service.web.filter_params import filters_from_body
from service.web.question_log import record_columns
from service.web.renames import coverage_out, hits_out

EXAMPLE = "compare Gloucestershire and Staffordshire urgent care"


def check_names(value: Any, field: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, list) or not all(
            isinstance(item, str) and item.strip() for item in value):
        raise ApiError(400, f"{field} must be a list of non-empty strings", "invalid_compare",
                       field)
    return [item.strip() for item in value]


def column_payload(column: Column) -> dict[str, Any]:
    head: dict[str, Any] = {"area": column.key} if column.kind == "area" else \
        {"document": column.key, "title": column.title}
    return {**head, "coverage": coverage_out(column.coverage.to_dict()),
            "answer": column.answer.to_dict(),
            "results": hits_out([hit.to_dict() for hit in column.hits])}


@blueprint.post("/compare", endpoint="compare")
def compare_view() -> Response:
    started = time.perf_counter()
    # each column is a search: as heavy as a chat, so it takes a chat slot
    with current_app.extensions["plansearch_chat_slots"].hold(client_identity()):
        body = json_body()
        question = check_query(body.get("question"), "question")
        areas, documents = check_names(body.get("areas"), "areas"), \
            check_names(body.get("documents"), "documents")
        k, mode, filters = check_k(body.get("k")), check_mode(body.get("mode")), \
            filters_from_body(body.get("filters"))
        topic = compare_topic(question, live_index().gazetteer)
        if areas is None and documents is None:
            typed = read_compare_question(question, live_index().gazetteer)
            if typed is None:
                raise ApiError(400, "areas (or documents) is required, unless the question "
                                    f"names two areas, as in {EXAMPLE!r}", "invalid_compare",
                               "areas")
            topic, areas = typed.topic, list(typed.areas)
        if not topic:
            raise ApiError(400, f"question must say what to compare, as in {EXAMPLE!r}",
                           "invalid_compare", "question")
        columns = compare(live_index(), topic, areas, documents, k, mode, filters)
    budget.checkpoint("compare")
    record_columns(topic, filters, columns)
    return jsonify({"question": question, "topic": topic, "mode": mode,
                    "took_ms": round((time.perf_counter() - started) * 1000, 2),
                    "columns": [column_payload(column) for column in columns]})
