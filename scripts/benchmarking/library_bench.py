"""The library at scale (issue 26): a filtered search against an unfiltered one, the cost
of counting facets, and the /library page and a page of /api/documents, over a synthetic
generation of many small documents with types, publishers and dates."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from benchmarking.measure import percentiles
from benchmarking.query_bench import run_queries, searcher_for
from service.embedding import Embedder
from service.retrieval import Filters, Searcher
from service.retrieval.facets import FacetCounter
from service.retrieval.filters import Library
from service.web.app import create_app

# a type (a quarter of the library), a year (a tenth), an area (about 1/42), and two
# together: the shapes a person ticks
FILTERS = {
    "type_plan": Filters(types=("plan",)),
    "year_2019": Filters(published=((date(2019, 1, 1), date(2019, 12, 31)),)),
    "type_and_years": Filters(types=("plan", "bulletin"),
                              published=((date(2018, 1, 1), date(2021, 12, 31)),)),
}


def library_benchmark(index_dir: Path, corpus_dir: Path, embedder: Embedder,
                      questions: Sequence[str]) -> dict[str, Any]:
    searcher = searcher_for(index_dir, embedder)
    for question in questions:  # query encoding is excluded, as in the scale section
        searcher.candidates.query_vector(question)
    area = max(searcher.areas, key=lambda a: sum(d.area == a for d in searcher.documents
                                                  .values()))
    filters = {**FILTERS, "area": Filters(areas=(area,))}
    result: dict[str, Any] = {"documents": len(searcher.documents),
                              "chunks": searcher.generation.chunk_count}
    run_queries(searcher, questions[:5], highlight=False)  # warm the engines
    result["unfiltered"] = run_queries(searcher, questions, highlight=False)["total"]
    result["filtered"] = {}
    for name, chosen in filters.items():
        started = time.perf_counter()
        searcher.search(questions[0], filters=chosen, highlight=False)
        first_ms = round((time.perf_counter() - started) * 1000, 1)  # the filter's ids
        base, timed = interleaved(searcher, questions, chosen)
        result["filtered"][name] = {**timed, "first_search_ms": first_ms,
                                    "unfiltered_p50": base["p50"],
                                    "documents": len(searcher.library.select(chosen)),
                                    "vs_unfiltered_p50": round(timed["p50"] / base["p50"], 2)}
    result["facets"] = facet_costs(searcher, list(filters.values()))
    result["pages"] = page_costs(index_dir, corpus_dir, embedder)
    searcher.generation.close()
    return result


def interleaved(searcher: Searcher, questions: Sequence[str], chosen: Filters
                ) -> tuple[dict[str, float], dict[str, float]]:
    """Each question unfiltered then filtered, in turn: on a shared machine whose load
    drifts, both see the same load, so their ratio means something."""
    plain, filtered = [], []
    for question in questions:
        for filters, times in ((Filters(), plain), (chosen, filtered)):
            started = time.perf_counter()
            searcher.search(question, filters=filters, highlight=False)
            times.append((time.perf_counter() - started) * 1000)
    return percentiles(plain), percentiles(filtered)


def facet_costs(searcher: Searcher, filters: list[Filters]) -> dict[str, Any]:
    """Counting facets for a filter not seen before (a new library and counter each time,
    built untimed as a generation's load builds them: nothing cached), and again from the
    per-generation cache, as every later search with that filter does."""
    fresh, cached = [], []
    counter = FacetCounter(searcher.library)
    for chosen in [Filters(), *filters] * 5:
        library = Library(searcher.documents.values())
        started = time.perf_counter()
        FacetCounter(library).count(chosen)
        fresh.append((time.perf_counter() - started) * 1000)
        counter.count(chosen)
        started = time.perf_counter()
        counter.count(chosen)
        cached.append((time.perf_counter() - started) * 1000)
    return {"uncached_ms": percentiles(fresh), "cached_ms": percentiles(cached)}


def page_costs(index_dir: Path, corpus_dir: Path, embedder: Embedder) -> dict[str, Any]:
    """The /library page (first page of 50, facets, coverage table) and a page of
    /api/documents, through the app, once the generation is loaded: the first request
    also reads the document rows from the store (once per generation)."""
    app = create_app({"INDEX_DIR": str(index_dir), "CORPUS_DIR": str(corpus_dir),
                      "EMBEDDER": embedder, "RATE_LIMIT_SEARCH": "1000000/minute"})
    client = app.test_client()
    started = time.perf_counter()
    client.get("/api/health")  # loads the generation, as a server's start does
    timings: dict[str, Any] = {"generation_load_ms": round((time.perf_counter() - started)
                                                          * 1000, 1)}
    for name, url in (("library_page", "/library"),
                      ("library_page_sorted_filtered", "/library?sort=-published&type=plan"),
                      ("api_documents_50", "/api/documents?limit=50&sort=title")):
        times = []
        for _ in range(11):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)[:200]
        timings[name] = {"first_ms": round(times[0], 1), **percentiles(times[1:])}
    return timings
