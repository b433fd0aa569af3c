"""GET /api/search.csv: a search's passages as a spreadsheet, one row per passage, for
staff who take the sources into a briefing. The same search as GET /api/search (the
same parameters, the same JSON 400 when one is wrong), served as CSV."""

from __future__ import annotations

import csv
import io

from flask import Response, request

from service.retrieval import Hit, budget
from service.web.api import blueprint, check_k, check_mode, check_query, live
from service.web.filter_params import filters_from_query

COLUMNS = ("rank", "document", "page", "section", "score", "url", "text", "document_id",
           "area", "citation")
# a cell a spreadsheet would run as a formula (CSV injection): written with a quote first
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_rows(hits: list[Hit], base_url: str) -> str:
    """The passages as CSV text, with a header row; links made absolute."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for hit in hits:
        pages = str(hit.page) if hit.page_end <= hit.page else f"{hit.page}-{hit.page_end}"
        writer.writerow([cell(v) for v in (
            hit.rank, hit.document.title, pages, hit.section.replace(" > ", " › "),
            f"{hit.score:.4f}", base_url.rstrip("/") + hit.url, hit.text, hit.document.id,
            hit.document.area, hit.citation)])
    return out.getvalue()


@blueprint.get("/search.csv", endpoint="search_csv")
def search_csv() -> Response:
    query = check_query(request.args.get("q"), "q")
    k = check_k(request.args.get("k"), from_query_string=True)
    mode = check_mode(request.args.get("mode"))
    filters = filters_from_query(request.args)
    result = live().answer(lambda searcher: searcher.search(query, k, mode, filters))
    budget.checkpoint("search")
    # a byte order mark, so Excel reads the file as UTF-8
    body = "\ufeff" + csv_rows(result.hits, request.host_url)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="plansearch-sources.csv"'})
