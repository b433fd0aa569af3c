"""The library as filters see it: the documents a filter selects, the filter said in
words (for a `not_found` that names it), and the checks that turn a filter no document
could ever meet (an unknown area, document or type) into a clear error.

Built once per generation (a `Searcher` holds one), so every search, facet count and
library page reads the same documents without asking the store again."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date

from service.retrieval.candidates import LRU
from service.retrieval.options import DateRange, Filters, InvalidFilter
from service.retrieval.results import DocumentRef

# the types front matter and sidecars use (docs/operations.md); an index may add others
DOCUMENT_TYPES = ("plan", "bulletin", "case study", "news item")
SELECTION_CACHE = 256  # filters whose documents are remembered, per generation


def folded(text: str | None) -> str:
    """How two spellings of a type or publisher compare: "News  Item" is "news item"."""
    return " ".join((text or "").casefold().split())


def within(day: date | None, ranges: Sequence[DateRange]) -> bool:
    return day is not None and any((first is None or first <= day) and
                                   (last is None or day <= last) for first, last in ranges)


class Library:
    """Every document of one generation, and which of them a filter selects."""

    def __init__(self, documents: Iterable[DocumentRef], known_areas: Sequence[str] = ()
                 ) -> None:
        self.documents = {d.id: d for d in documents}
        self.areas = sorted({d.area for d in self.documents.values() if d.area})
        self.known_areas = set(known_areas) | set(self.areas)  # the gazetteer's ICSs too
        self.types = sorted({d.doc_type for d in self.documents.values() if d.doc_type})
        self._selected = LRU(SELECTION_CACHE)

    def check(self, filters: Filters) -> None:
        """Refuse a filter naming what no document here could have."""
        unknown_areas = [a for a in filters.areas if a not in self.known_areas]
        if unknown_areas:
            raise InvalidFilter(f"unknown area filter {unknown_areas[0]!r}; indexed areas: "
                                f"{', '.join(self.areas) or 'none'}", "area")
        unknown_docs = [d for d in filters.documents if d not in self.documents]
        if unknown_docs:
            raise InvalidFilter(f"unknown document filter {unknown_docs[0]!r}; see "
                                "/api/documents for document ids", "document")
        known = {folded(t) for t in (*DOCUMENT_TYPES, *self.types)}
        unknown_types = [t for t in filters.types if folded(t) not in known]
        if unknown_types:
            names = sorted(known)
            raise InvalidFilter(f"unknown type filter {unknown_types[0]!r}; types: "
                                f"{', '.join(names)}", "type")

    def select(self, filters: Filters) -> list[DocumentRef]:
        """The documents the filter allows, in title order (cached per filter)."""
        chosen = self._selected.fetch(filters)
        if chosen is None:
            chosen = [d for d in self.documents.values() if self.allows(filters, d)]
            self._selected.store(filters, chosen)
        return list(chosen)

    @staticmethod
    def allows(filters: Filters, document: DocumentRef) -> bool:
        return ((not filters.areas or document.area in filters.areas) and
                (not filters.documents or document.id in filters.documents) and
                (not filters.types or folded(document.doc_type) in
                 {folded(t) for t in filters.types}) and
                (not filters.publishers or folded(document.publisher) in
                 {folded(p) for p in filters.publishers}) and
                (not filters.published or within(document.published_date,
                                                   filters.published)))

    def scope(self, filters: Filters) -> Filters | None:
        """What the store is asked to search: the filter itself when the store can read
        it (areas, documents), else the documents it selects. None: it selects none."""
        if not filters:
            return filters
        chosen = self.select(filters)
        if not chosen:
            return None
        if filters.by_metadata:
            return Filters(documents=tuple(d.id for d in chosen))
        return filters


def describe(filters: Filters) -> str:
    """The filter in words: "type 'plan' and published 2019-01-01 to 2019-12-31"."""
    parts = []
    for name, values in (("area", filters.areas), ("document", filters.documents),
                         ("type", filters.types), ("publisher", filters.publishers)):
        if values:
            parts.append(f"{name} " + " or ".join(repr(v) for v in values))
    if filters.published:
        parts.append("published " + " or ".join(span(r) for r in filters.published))
    return " and ".join(parts)


def span(dates: DateRange) -> str:
    first, last = dates
    if first and last and (first.month, first.day, last.month, last.day) == (1, 1, 12, 31) \
            and first.year == last.year:
        return f"in {first.year}"
    if first and last:
        return f"{first.isoformat()} to {last.isoformat()}"
    return f"from {first.isoformat()}" if first else f"until {last.isoformat() if last else ''}"


def nothing_matches(filters: Filters) -> str:
    return (f"No indexed document matches the filter {describe(filters)}, so nothing was "
            "searched. Remove or widen a filter to search more of the library.")


def without(filters: Filters, field: str) -> Filters:
    """The filter with one field cleared: what a facet of that field counts over."""
    return replace(filters, **{field: ()})
