"""Facets: for each of area, type, publisher and year, the values the filtered library
holds and how many documents have each.

Counted in documents, not passages: a librarian reads "Gloucestershire 3" as three
plans. Each facet counts the documents every *other* filter allows, so the values of a
facet already narrowed on stay visible (ticking a second area widens the search, as on
GOV.UK's finders). Counts are cached per filter for the life of the generation."""

from __future__ import annotations

from collections import Counter
from operator import itemgetter
from typing import Any

from service.retrieval.candidates import LRU
from service.retrieval.filters import Library, without
from service.retrieval.options import Filters

FACET_CACHE = 256
Facets = dict[str, list[dict[str, Any]]]
# facet -> (the filter field it narrows, where a Library row holds its value)
FIELDS = {"area": ("areas", 1), "type": ("types", 5), "publisher": ("publishers", 6),
          "year": ("published", 7)}


class FacetCounter:
    """The facet counts of one generation's library."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self._counted = LRU(FACET_CACHE)

    def count(self, filters: Filters) -> Facets:
        counted = self._counted.fetch(filters)
        if counted is None:
            counted = {name: self.values(name, filters) for name in FIELDS}
            self._counted.store(filters, counted)
        return counted

    def values(self, name: str, filters: Filters) -> list[dict[str, Any]]:
        field, position = FIELDS[name]
        counts = Counter(map(itemgetter(position), self.library.rows(without(filters, field))))
        counts.pop(None, None)  # undated, or no area: nothing to choose
        if name == "year":  # newest first, as a timeline reads
            ordered = sorted(counts.items(), key=lambda pair: -int(pair[0]))
        else:
            ordered = sorted(counts.items(), key=lambda pair: (-pair[1], str(pair[0])))
        return [{"value": value, "count": count} for value, count in ordered]
