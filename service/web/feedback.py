"""POST /api/feedback: "helpful / not helpful" on an answer, with an optional reason,
stored in the store's question log beside the question, filters, verdict and the cited
passages (as their documents too). Nothing about who sent it is stored."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from service.retrieval.options import MAX_K
from service.store.question_log import REASONS, VERDICTS
from service.web.api import blueprint, check_query, json_body, live
from service.web.errors import ApiError
from service.web.filter_params import filters_from_body
from service.web.question_log import filters_dict, logger

MAX_CHUNKS = 5 * MAX_K  # a merged passage has several chunks


def check_choice(value: Any, field: str, choices: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if value not in choices:
        raise ApiError(400, f"{field} must be one of {', '.join(choices)}", "invalid_feedback",
                       field)
    return str(value)


def check_chunk_ids(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_CHUNKS or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2 ** 63 for i in value):
        raise ApiError(400, f"chunk_ids must be a list of at most {MAX_CHUNKS} chunk ids "
                            "(whole numbers, as in a result's chunk_ids)", "invalid_feedback",
                       "chunk_ids")
    return tuple(dict.fromkeys(value))


def documents_of(chunk_ids: tuple[int, ...]) -> tuple[str, ...]:
    """The documents of the cited chunks; a chunk the live index lacks is an error."""
    if not chunk_ids:
        return ()
    found = live().answer(lambda searcher: searcher.generation.chunk_documents(list(chunk_ids)))
    missing = [i for i in chunk_ids if i not in found]
    if missing:
        raise ApiError(400, f"chunk_ids: {missing[0]} is not a passage of the live index",
                       "invalid_feedback", "chunk_ids")
    return tuple(dict.fromkeys(found[i] for i in chunk_ids))


@blueprint.post("/feedback", endpoint="feedback")
def feedback_view() -> Response | tuple[Response, int]:
    body = json_body()
    question = check_query(body.get("question"), "question")
    helpful = body.get("helpful")
    if not isinstance(helpful, bool):
        raise ApiError(400, "helpful must be true or false", "invalid_feedback", "helpful")
    reason = check_choice(body.get("reason"), "reason", REASONS)
    if helpful and reason is not None:
        raise ApiError(400, "reason is only for an answer that was not helpful",
                       "invalid_feedback", "reason")
    verdict = check_choice(body.get("verdict"), "verdict", VERDICTS)
    filters = filters_from_body(body.get("filters"))
    chunk_ids = check_chunk_ids(body.get("chunk_ids"))
    questions = logger()
    if not questions.enabled:
        return jsonify({"recorded": False, "message": "the question log is turned off on "
                        "this server (PLANSEARCH_QUESTION_LOG), so feedback is not kept"})
    entry = questions.entry("feedback", question, filters=filters_dict(filters),
                            verdict=verdict, chunk_ids=chunk_ids,
                            documents=documents_of(chunk_ids), helpful=helpful, reason=reason)
    questions.record_feedback(entry)
    return jsonify({"recorded": True, "id": entry.id}), 201
