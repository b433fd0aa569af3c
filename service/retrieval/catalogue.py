"""The library listed: every document a filter selects, sorted and paged, and the area
coverage table (each ICS area with its number of documents and newest date), the page
that tells staff what the search can be trusted for.

One `Catalogue` per generation: the document rows are read from the store once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from service.retrieval.filters import Library
from service.retrieval.options import Filters, InvalidQuery
from service.store import DocumentRecord

SORTS = ("title", "area", "published", "indexed", "pages")
MAX_LIMIT = 1000  # documents in one page of the list


class InvalidListing(InvalidQuery):
    """A sort, limit or offset the caller must fix; `field` names it."""

    code = "invalid_parameter"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Listing:
    rows: list[DocumentRecord]
    total: int  # documents the filter selects, over every page


def sort_key(sort: str, library: Library) -> Callable[[DocumentRecord], Any]:
    """Missing values (no area, no date) sort last whichever way the list runs."""
    def dated(record: DocumentRecord) -> date | None:
        ref = library.documents.get(record.id)
        return ref.published_date if ref else None

    keys: dict[str, Callable[[DocumentRecord], Any]] = {
        "title": lambda r: r.title.casefold(),
        "area": lambda r: (r.area or "").casefold(),
        "published": dated,
        "indexed": lambda r: r.indexed_at,
        "pages": lambda r: r.pages,
    }
    return keys[sort]


def check_sort(sort: str | None) -> tuple[str, bool]:
    """The sort field and whether it runs newest (largest) first: "-published"."""
    if not sort:
        return "title", False
    name = sort.removeprefix("-")
    if name not in SORTS:
        raise InvalidListing(f"sort must be one of {', '.join(SORTS)}, optionally with a "
                             f"leading '-' for descending; got {sort[:40]!r}", "sort")
    return name, sort.startswith("-")


class Catalogue:
    """Every document record of one generation, and the library's filters over them."""

    def __init__(self, records: Sequence[DocumentRecord], library: Library) -> None:
        self.records = list(records)
        self.library = library

    def listing(self, filters: Filters, sort: str | None = None, limit: int | None = None,
                offset: int = 0) -> Listing:
        name, descending = check_sort(sort)
        self.library.check(filters)
        chosen = {d.id for d in self.library.select(filters)} if filters else None
        rows = [r for r in self.records if chosen is None or r.id in chosen]
        key = sort_key(name, self.library)
        present = [r for r in rows if key(r) not in (None, "")]
        absent = [r for r in rows if key(r) in (None, "")]
        present.sort(key=lambda r: r.title.casefold())  # ties read in title order
        present.sort(key=key, reverse=descending)
        rows = present + absent
        end = None if limit is None else offset + limit
        return Listing(rows[offset:end], len(rows))

    def area_coverage(self, areas: Sequence[str]) -> list[dict[str, Any]]:
        """Each area (the gazetteer's 42 ICSs, then any other an index names) with its
        number of documents, its newest published date and its newest indexing; an area
        with none says 0 and null."""
        by_area: dict[str, list[DocumentRecord]] = {}
        for record in self.records:
            if record.area:
                by_area.setdefault(record.area, []).append(record)
        names = list(areas) + sorted(set(by_area) - set(areas))
        table = []
        for name in names:
            held = by_area.get(name, [])
            dates = [d for r in held if (d := self.published_date(r.id)) is not None]
            table.append({"area": name, "documents": len(held),
                          "newest_published": max(dates).isoformat() if dates else None,
                          "newest_indexed": max((r.indexed_at for r in held), default=None)})
        return table

    def published_date(self, doc_id: str) -> date | None:
        ref = self.library.documents.get(doc_id)
        return ref.published_date if ref else None
