"""GET /api/insights (and .csv) for the admin page: what the question log says about
the library. Admin token only: questions are what staff asked."""

from __future__ import annotations

import csv
import io

from flask import Response, jsonify, request

from service.retrieval.insights import csv_rows as insights_csv_rows
from service.retrieval.insights import insights as insights_report
from service.web.admin import api as admin_api
from service.web.api import live
from service.web.errors import ApiError
from service.web.question_log import logger

DEFAULT_DAYS = 30


def check_days() -> int:
    """The window asked for: 1 day up to the retention."""
    retention = logger().retention_days
    raw = request.args.get("days")
    if raw is None:
        return min(DEFAULT_DAYS, retention)
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= retention:
        raise ApiError(400, f"days must be a whole number from 1 to {retention} (the "
                            "question log's retention, PLANSEARCH_QUESTION_LOG_DAYS)",
                       "invalid_parameter", "days")
    return int(raw)


def build_report() -> dict[str, object]:
    days = check_days()
    questions = logger()
    entries = questions.entries(days) if questions.enabled else []
    titles = live().answer(lambda searcher: {d: ref.title for d, ref in
                                             searcher.documents.items()})
    return {"days": days, "log": {"enabled": questions.enabled,
                                  "retention_days": questions.retention_days},
            **insights_report(entries, titles)}


@admin_api.get("/insights", endpoint="insights")
def insights_view() -> Response:
    return jsonify(build_report())


@admin_api.get("/insights.csv", endpoint="insights_csv")
def insights_csv() -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("section", "item", "count", "detail"))
    writer.writerows(insights_csv_rows(build_report()))
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="plansearch-insights.csv"'})
