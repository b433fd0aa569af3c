"""The names /api/v1 uses (issue 28): a document's kind (plan, bulletin, ...) is `kind`,
and an uploaded file's format (pdf, docx, html, text) is `format`, so that `type` means
neither. The unversioned /api paths keep `type` for both, as they always answered.

Answers are built once, with the original names, and renamed here on the way out of a
v1 view; requests name the filter (and an upload's field) `kind` on v1, `type` on the
unversioned paths."""

from __future__ import annotations

import re
from typing import Any

from service.web.versions import is_v1

FILTER_TYPE = re.compile(r"(?:(?<=filter )|(?<=and ))type '")  # filters.describe's words
OLD = "type"  # the name both meanings had before /api/v1
KIND, FORMAT = "kind", "format"


def kind_name() -> str:
    """What the document-kind filter, facet and upload field are called on this request."""
    return KIND if is_v1() else OLD


def renamed(mapping: dict[str, Any], new: str) -> dict[str, Any]:
    """The mapping with its `type` key called `new`, in the same place."""
    return {(new if key == OLD else key): value for key, value in mapping.items()}


def document_out(document: dict[str, Any]) -> dict[str, Any]:
    """A document (listed, or a search result's reference) as this path names it."""
    return renamed(document, KIND) if is_v1() else document


def coverage_out(coverage: dict[str, Any] | None) -> dict[str, Any] | None:
    """The verdict; its not_found message names a kind filter as this path names it
    (the retrieval layer writes "the filter area 'X' and type 'plan'")."""
    if coverage is None or not is_v1() or not isinstance(coverage.get("message"), str):
        return coverage
    return {**coverage, "message": FILTER_TYPE.sub("kind '", coverage["message"])}


def facets_out(facets: dict[str, Any] | None) -> dict[str, Any] | None:
    return renamed(facets, KIND) if facets is not None and is_v1() else facets


def hits_out(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Search results, each with its document named as this path names it."""
    if not is_v1():
        return hits
    return [{**hit, "document": document_out(hit["document"])} for hit in hits]


def job_out(job: dict[str, Any]) -> dict[str, Any]:
    """A job (or an upload's answer): each of its files' format as this path names it."""
    if not is_v1() or not isinstance(job.get("files"), list):
        return job
    return {**job, "files": [renamed(entry, FORMAT) for entry in job["files"]]}


def field_out(field: str | None) -> str | None:
    """An error's `field`: the parameter as this path names it."""
    return KIND if field == OLD and is_v1() else field


def filter_error_out(message: str, field: str | None) -> tuple[str, str | None]:
    """The retrieval layer's refusal of a kind filter ("unknown type filter 'x'; types:
    ..."), in the words of the path it came in on."""
    if field != OLD or not is_v1():
        return message, field
    return message.replace("type filter", "kind filter").replace("; types:", "; kinds:"), KIND
