"""The library: `GET /api/documents` with filters, sorting and paging (the listing
itself; api.py routes to it), and the `/library` page, which lists the same rows with
facets to narrow them and the area coverage table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, render_template, request

from service.retrieval.catalogue import MAX_LIMIT, Catalogue, InvalidListing
from service.retrieval.options import InvalidQuery
from service.retrieval.search import Searcher
from service.store import DocumentRecord
from service.text.published_dates import parse_published
from service.web.errors import ApiError
from service.web.filter_params import KEYS, filters_from_query
from service.web.paging import DEFAULT_LIMIT, MAX_PAGE, encode_cursor, page_limit, read_cursor
from service.web.renames import document_out, facets_out
from service.web.versions import is_v1

blueprint = Blueprint("library", __name__)
PAGE_SIZE = 50  # rows on one page of /library


def catalogue_of(searcher: Searcher) -> Catalogue:
    """The searcher's generation listed, from the rows it read from the store."""
    found = getattr(searcher, "_catalogue", None)
    if found is None:
        found = Catalogue(searcher.records, searcher.library)
        searcher._catalogue = found  # type: ignore[attr-defined]
    return found


def whole_number(name: str, default: int | None, largest: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    smallest = 1 if name == "limit" else 0
    if not (raw.isascii() and raw.isdigit()) or not smallest <= int(raw) <= largest:
        raise InvalidListing(f"{name} must be a whole number from {smallest} to {largest}",
                             name)
    return int(raw)


def document_listing(searcher: Searcher, public: Callable[[DocumentRecord], dict[str, Any]],
                     page_size: int | None = None) -> dict[str, Any]:
    """The filtered, sorted page of documents with its total, the failed files and the
    facets; every document at once when no limit is asked for (the original shape)."""
    filters = filters_from_query(request.args)
    if is_v1():  # /api/v1 pages by default, as the unversioned list never did
        page_size = page_limit(DEFAULT_LIMIT, MAX_PAGE)
    limit = whole_number("limit", page_size, MAX_LIMIT)
    offset = whole_number("offset", 0, 10 ** 9) or 0
    cursor = read_cursor("documents", int)
    if cursor is not None and request.args.get("offset"):
        raise ApiError(400, "give cursor or offset, not both", "invalid_parameter", "cursor")
    offset = cursor[0] if cursor is not None else offset
    catalogue = catalogue_of(searcher)
    listing = catalogue.listing(filters, request.args.get("sort"), limit, offset)
    failed = [f.to_dict() for f in searcher.generation.failures()]
    following = offset + limit if limit is not None and offset + limit < listing.total else None
    return {"documents": [document_out(public(r)) for r in listing.rows], "failed": failed,
            "total": listing.total, "limit": limit, "offset": offset,
            "next_cursor": encode_cursor("documents", following) if following else None,
            "facets": facets_out(searcher.facets.count(filters))}


def public_document(document: DocumentRecord) -> dict[str, Any]:
    keys = ("id", "title", "area", "path", "source_url", "published", "publisher", "pages",
            "chunks", "indexed_at", "sha256", "size", "warnings", "active_content")
    values = document.to_dict()
    dated = parse_published(document.published)
    return {**{key: values[key] for key in keys}, "type": document.doc_type,
            "file_url": f"/documents/{document.id}/file",
            "published_date": dated.isoformat() if dated else None,
            "reading_url": f"/documents/{document.id}"}


@blueprint.get("/library")
def library_page() -> str:
    live = current_app.extensions["plansearch"]
    try:
        listed, coverage = live.answer(lambda s: (
            document_listing(s, public_document, PAGE_SIZE),
            catalogue_of(s).area_coverage(live.gazetteer.areas)))
    except (ApiError, InvalidQuery) as error:  # an HTML page keeps HTML errors
        abort(400, description=getattr(error, "message", None) or str(error))
    chosen = {key: request.args.getlist(key) for key in KEYS}
    return render_template("library.html", listed=listed, coverage=coverage, chosen=chosen,
                           sort=request.args.get("sort") or "title", page_link=page_link,
                           covered=sum(1 for row in coverage if row["documents"]))


def page_link(**changes: Any) -> str:
    """/library with the current filters, one or more parameters changed."""
    params = [(k, v) for k, v in request.args.items(multi=True) if k not in changes]
    params += [(k, v) for k, v in changes.items() if v not in (None, "")]
    return "/library" + (f"?{urlencode(params)}" if params else "")
