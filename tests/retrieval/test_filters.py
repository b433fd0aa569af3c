"""The library's filters, facets and listing (issue 26), on document records alone: which
documents a filter selects, what it says when it selects none, the errors that name
their parameter, facet counts and the sorted, paged listing with its coverage table."""

from __future__ import annotations

from datetime import date

import pytest

from service.retrieval.catalogue import Catalogue, InvalidListing
from service.retrieval.facets import FacetCounter
from service.retrieval.filters import Library, nothing_matches
from service.retrieval.options import Filters, InvalidFilter
from service.retrieval.results import DocumentRef
from service.store import DocumentRecord
from service.text.published_dates import parse_published

# (id, area, type, publisher, published, pages)
ROWS = [
    ("glos-plan", "Gloucestershire", "plan", "One Gloucestershire", "2019-09-26", 40),
    ("glos-bulletin", "Gloucestershire", "bulletin", "One Gloucestershire", "March 2016", 2),
    ("staffs-plan", "Staffordshire and Stoke-on-Trent", "Plan", "Together We're Better",
     "2019/20", 60),
    ("staffs-news", "Staffordshire and Stoke-on-Trent", "news item", None, None, 1),
    ("national", None, "plan", "NHS England", "reviewed 14 October 2024", 120),
]
KNOWN_AREAS = ["Cornwall and the Isles of Scilly", "Gloucestershire",
               "Staffordshire and Stoke-on-Trent"]


def record(doc_id: str, area: str | None, doc_type: str, publisher: str | None,
           published: str | None, pages: int) -> DocumentRecord:
    return DocumentRecord(id=doc_id, path=f"{doc_id}.txt", title=doc_id.replace("-", " "),
                          area=area, source_url=None, published=published, sha256="0" * 64,
                          size=1, pages=pages, chunks=pages * 2,
                          indexed_at=f"2026-12-0{pages % 7 + 1}T10:00:00Z",
                          publisher=publisher, doc_type=doc_type)


RECORDS = [record(*row) for row in ROWS]


@pytest.fixture
def library() -> Library:
    refs = [DocumentRef(r.id, r.title, r.area, r.path, None, r.published, r.publisher,
                        r.doc_type, parse_published(r.published)) for r in RECORDS]
    return Library(refs, KNOWN_AREAS)


def chosen(library: Library, filters: Filters) -> list[str]:
    return sorted(d.id for d in library.select(filters))


def test_fields_narrow_together_and_values_widen(library: Library) -> None:
    assert chosen(library, Filters(types=("plan",))) == ["glos-plan", "national", "staffs-plan"]
    assert chosen(library, Filters(types=("plan", "news item"))) == [
        "glos-plan", "national", "staffs-news", "staffs-plan"]
    assert chosen(library, Filters(areas=("Gloucestershire",), types=("PLAN",))) == ["glos-plan"]
    assert chosen(library, Filters(publishers=("one gloucestershire",))) == [
        "glos-bulletin", "glos-plan"]


def test_date_ranges_read_the_parsed_date(library: Library) -> None:
    in_2019 = (date(2019, 1, 1), date(2019, 12, 31))
    assert chosen(library, Filters(published=(in_2019,))) == ["glos-plan", "staffs-plan"]
    assert chosen(library, Filters(published=((date(2020, 1, 1), None),))) == ["national"]
    assert chosen(library, Filters(published=((None, date(2016, 12, 31)),
                                              (date(2024, 1, 1), None)))) == [
        "glos-bulletin", "national"]  # either range; the undated news item never matches


def test_a_filter_selecting_nothing_is_named(library: Library) -> None:
    filters = Filters(types=("bulletin",), published=((date(2030, 1, 1),
                                                       date(2030, 12, 31)),))
    assert library.scope(filters) is None
    assert nothing_matches(filters) == (
        "No indexed document matches the filter type 'bulletin' and published in 2030, so "
        "nothing was searched. Remove or widen a filter to search more of the library.")
    # an ICS the gazetteer knows but the index doesn't hold: nothing, not an error
    library.check(Filters(areas=("Cornwall and the Isles of Scilly",)))
    assert library.scope(Filters(areas=("Cornwall and the Isles of Scilly",))) is None


def test_the_store_is_given_documents_for_a_metadata_filter(library: Library) -> None:
    by_area = Filters(areas=("Gloucestershire",))
    assert library.scope(by_area) == by_area  # the store reads areas itself
    assert library.scope(Filters(areas=("Gloucestershire",), types=("plan",))) == Filters(
        documents=("glos-plan",))


@pytest.mark.parametrize(("filters", "field", "message"), [
    (Filters(areas=("Narnia",)), "area", "unknown area filter 'Narnia'; indexed areas: "
     "Gloucestershire, Staffordshire and Stoke-on-Trent"),
    (Filters(documents=("nope",)), "document", "unknown document filter 'nope'; see "
     "/api/documents for document ids"),
    (Filters(types=("leaflet",)), "type", "unknown type filter 'leaflet'; types: bulletin, "
     "case study, news item, plan"),
])
def test_filters_no_document_could_meet_are_errors(library: Library, filters: Filters,
                                                    field: str, message: str) -> None:
    with pytest.raises(InvalidFilter) as raised:
        library.check(filters)
    assert (raised.value.field, str(raised.value)) == (field, message)


def test_each_facet_counts_documents_under_the_other_filters(library: Library) -> None:
    facets = FacetCounter(library).count(Filters(areas=("Gloucestershire",)))
    assert facets == {
        # the area facet ignores the area filter, so another area can be ticked too
        "area": [{"value": "Gloucestershire", "count": 2},
                 {"value": "Staffordshire and Stoke-on-Trent", "count": 2}],
        "type": [{"value": "bulletin", "count": 1}, {"value": "plan", "count": 1}],
        "publisher": [{"value": "One Gloucestershire", "count": 2}],
        "year": [{"value": "2019", "count": 1}, {"value": "2016", "count": 1}],
    }
    everything = FacetCounter(library).count(Filters())
    assert everything["year"] == [{"value": "2024", "count": 1}, {"value": "2019", "count": 2},
                                  {"value": "2016", "count": 1}]
    assert sum(v["count"] for v in everything["type"]) == len(ROWS)


def test_the_listing_sorts_pages_and_counts(library: Library) -> None:
    catalogue = Catalogue(RECORDS, library)
    newest = catalogue.listing(Filters(), "-published")
    # undated last, whichever way the list runs
    assert [r.id for r in newest.rows] == ["national", "glos-plan", "staffs-plan",
                                           "glos-bulletin", "staffs-news"]
    page = catalogue.listing(Filters(), "pages", limit=2, offset=1)
    assert ([r.id for r in page.rows], page.total) == (["glos-bulletin", "glos-plan"], 5)
    plans = catalogue.listing(Filters(types=("plan",)), "area")
    assert [r.id for r in plans.rows] == ["glos-plan", "staffs-plan", "national"]
    assert catalogue.listing(Filters(), None).rows[0].id == "glos-bulletin"  # title order
    with pytest.raises(InvalidListing) as raised:
        catalogue.listing(Filters(), "size")
    assert raised.value.field == "sort"


def test_area_coverage_lists_every_area_and_says_none(library: Library) -> None:
    table = Catalogue(RECORDS, library).area_coverage(KNOWN_AREAS)
    assert [(row["area"], row["documents"], row["newest_published"]) for row in table] == [
        ("Cornwall and the Isles of Scilly", 0, None),
        ("Gloucestershire", 2, "2019-09-26"),
        ("Staffordshire and Stoke-on-Trent", 2, "2019-04-01"),
    ]
