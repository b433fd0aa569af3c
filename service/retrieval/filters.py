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
Row = tuple[DocumentRef, str | None, str, str, date | None, str | None, str | None, str | None]


def folded(text: str | None) -> str:
    """How two spellings of a type or publisher compare: "News  Item" is "news item"."""
    return " ".join((text or "").casefold().split())


class Library:
    """Every document of one generation, and which of them a filter selects."""

    def __init__(self, documents: Iterable[DocumentRef], known_areas: Sequence[str] = ()
                 ) -> None:
        self.documents = {d.id: d for d in documents}
        self.areas = sorted({d.area for d in self.documents.values() if d.area})
        self.known_areas = set(known_areas) | set(self.areas)  # the gazetteer's ICSs too
        self.types = sorted({d.doc_type for d in self.documents.values() if d.doc_type})
        self._selected = LRU(SELECTION_CACHE)
        # what filters compare and facets count, worked out once per generation:
        # (document, area, folded type, folded publisher, date, type, publisher, year)
        self._rows: list[Row] = [
            (d, d.area, folded(d.doc_type), folded(d.publisher), d.published_date,
             d.doc_type, d.publisher, str(d.published_date.year) if d.published_date
             else None) for d in self.documents.values()]

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
        return [row[0] for row in self.rows(filters)]

    def rows(self, filters: Filters) -> list[Row]:
        """The rows of the documents the filter allows (cached per filter)."""
        chosen = self._selected.fetch(filters)
        if chosen is None:
            chosen = self.matching(filters)
            self._selected.store(filters, chosen)
        return chosen

    def matching(self, filters: Filters) -> list[Row]:
        """One pass over the documents, each test skipped when its filter is empty (a
        library of 10,000 is read in a few milliseconds: BENCHMARKS.md)."""
        rows = self._rows
        if filters.documents:
            wanted = set(filters.documents)
            rows = [r for r in rows if r[0].id in wanted]
        if filters.areas:
            areas = set(filters.areas)
            rows = [r for r in rows if r[1] in areas]
        if filters.types:
            types = {folded(t) for t in filters.types}
            rows = [r for r in rows if r[2] in types]
        if filters.publishers:
            publishers = {folded(p) for p in filters.publishers}
            rows = [r for r in rows if r[3] in publishers]
        if filters.published:
            bounds = [(first or date.min, last or date.max)
                      for first, last in filters.published]
            if len(bounds) == 1:  # the usual case, without a generator per document
                low, high = bounds[0]
                rows = [r for r in rows if r[4] is not None and low <= r[4] <= high]
            else:
                rows = [r for r in rows if r[4] is not None and
                        any(first <= r[4] <= last for first, last in bounds)]
        return rows

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
