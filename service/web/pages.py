"""HTML pages: the chat page, the original files, the reading view and the PDF
page view."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, abort, current_app, render_template, request, send_file

from service.retrieval.live import LiveIndex
from service.retrieval.options import Filters, InvalidQuery
from service.store import DocumentRecord, IndexNotReady
from service.web.errors import ApiError
from service.web.filter_params import KEYS as FILTER_KEYS
from service.web.filter_params import filters_from_query

blueprint = Blueprint("web", __name__)
SQLITE_INT_LIMIT = 2 ** 63  # larger ids can't even be bound as SQLite parameters
T = TypeVar("T")
FACET_KEYS = ("area", "type", "publisher", "year")  # the parameters facets tick


def searcher() -> Any:
    return current_app.extensions["plansearch"].searcher()


def answered(work: Callable[[Any], T]) -> T:
    """`work` on the live searcher, retried once on the fallback generation if it meets
    damage, as the API's requests are (LiveIndex.answer)."""
    live: LiveIndex = current_app.extensions["plansearch"]
    return live.answer(work)


def requested_chunks() -> list[int]:
    """The `chunk` ids asked for (a merged passage has several), each one SQLite can bind."""
    wanted = request.args.getlist("chunk", type=int)[:10]
    if any(not 0 <= chunk_id < SQLITE_INT_LIMIT for chunk_id in wanted):
        abort(400, description="chunk must be a chunk id (a whole number from 0 to 2**63 - 1)")
    return wanted


@blueprint.get("/")
def index() -> str:
    chosen = {key: request.args.getlist(key) for key in FILTER_KEYS}
    try:
        current = searcher()
        areas = current.areas
        documents = [{"id": d.id, "title": d.title, "area": d.area}
                     for d in current.documents.values()]
        facets = page_facets(current)
    except IndexNotReady:
        areas, documents, facets = [], [], {}
    return render_template("index.html", areas=areas, facets=facets, chosen=chosen,
                           chosen_count=sum(len(chosen[k]) for k in FACET_KEYS),
                           documents=sorted(documents, key=lambda d: d["title"].lower()))


def page_facets(current: Any) -> Any:
    """The facets of the filters a shared link holds; of the whole library when they
    are not valid (the page's search then says what is wrong with them)."""
    try:
        filters = filters_from_query(request.args)
        current.check_filters(filters)
        return current.facets.count(filters)
    except (ApiError, InvalidQuery):
        return current.facets.count(Filters())


def corpus_file(doc_id: str) -> tuple[DocumentRecord, Path]:
    """The document's file, found by its server-side id; never a client-supplied path."""
    document = answered(lambda current: current.generation.document(doc_id))
    if document is None:
        abort(404)
    corpus = Path(current_app.config["CORPUS_DIR"]).resolve()
    path = (corpus / document.path).resolve()
    if not path.is_relative_to(corpus) or not path.is_file():
        abort(404)
    return document, path


@blueprint.get("/documents/<doc_id>/file")
def document_file(doc_id: str) -> Any:
    """The original file: text inline, anything else (PDFs too) as an attachment."""
    document, path = corpus_file(doc_id)
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if mimetype in {"text/html", "image/svg+xml"}:
        mimetype = "text/plain"  # never let an uploaded page run in our origin
    # Chromium's PDF viewer runs a PDF's own JavaScript (an OpenAction's app.alert) even
    # under the sandbox CSP (issue 23), so a PDF is a download; it is read inline on its
    # /pdf page, drawn by pdf.js with scripting off.
    response = send_file(path, mimetype=mimetype, download_name=path.name, conditional=True,
                         as_attachment=mimetype not in {"text/plain", "text/markdown"})
    response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'; " \
                                                  "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"  # the type we chose, never a guess
    return response


@blueprint.get("/documents/<doc_id>")
def reading_view(doc_id: str) -> str:
    wanted = requested_chunks()
    return answered(lambda current: reading_page(current, doc_id, wanted))


def document_and_chunks(current: Any, doc_id: str, wanted: list[int], pdf: bool = False
                        ) -> tuple[Any, list[Any]]:
    """The document (404 when unknown, or not a PDF where one is needed) and those of the
    wanted chunks that belong to it, in the order asked."""
    document = current.generation.document(doc_id)
    if document is None or (pdf and not document.path.lower().endswith(".pdf")):
        abort(404)
    found = current.generation.chunks(wanted)
    return document, [found[i] for i in wanted if i in found and found[i].doc_id == doc_id]


def reading_page(current: Any, doc_id: str, wanted: list[int]) -> str:
    document, chunks = document_and_chunks(current, doc_id, wanted)
    pages = []
    for page in current.generation.pages(doc_id):
        paragraphs = [{"text": text, "highlighted": False} for text in page.text.split("\n\n")]
        pages.append({"number": page.number, "label": page.label, "paragraphs": paragraphs})
    for chunk in chunks:
        mark_chunk(pages, chunk)
    return render_template("document.html", document=document, pages=pages,
                           chunk_id=chunks[0].id if chunks else None,
                           file_url=f"/documents/{doc_id}/file")


@blueprint.get("/documents/<doc_id>/pdf")
def pdf_page_view(doc_id: str) -> str:
    """Page N of the original PDF, drawn by pdf.js, with the passage's boxes on it."""
    wanted = requested_chunks()
    return answered(lambda current: pdf_page(current, doc_id, wanted))


def pdf_page(current: Any, doc_id: str, wanted: list[int]) -> str:
    document, chunks = document_and_chunks(current, doc_id, wanted, pdf=True)
    page = min(max(request.args.get("page", default=1, type=int), 1), max(document.pages, 1))
    boxes = current.generation.chunk_boxes([chunk.id for chunk in chunks])
    reading = "&".join(f"chunk={chunk.id}" for chunk in chunks)
    return render_template(
        "pdf_page.html", document=document, page=page, chunks=chunks,
        boxes=[list(box) for chunk in chunks for box in boxes.get(chunk.id, [])],
        file_url=f"/documents/{doc_id}/file",
        reading_url=f"/documents/{doc_id}" + (f"?{reading}#chunk-{chunks[0].id}" if chunks
                                              else f"#page-{page}"))


def mark_chunk(pages: list[dict[str, Any]], chunk: Any) -> None:
    """Flag the paragraphs the chunk's character offsets cover."""
    for page in pages:
        if not chunk.page_start <= page["number"] <= chunk.page_end:
            continue
        position = 0
        for paragraph in page["paragraphs"]:
            start, end = position, position + len(paragraph["text"])
            position = end + 2
            after_start = page["number"] > chunk.page_start or end > chunk.char_start
            before_end = page["number"] < chunk.page_end or start < chunk.char_end
            paragraph["highlighted"] = paragraph["highlighted"] or (after_start and before_end)
