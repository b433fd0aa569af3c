"""The sentence candidate source (service/retrieval/sentence_source.py): a passage whose
one sentence answers, in a chunk the chunk vectors and keywords rank below others, becomes
a candidate through that sentence; filters apply to it as to the other sources."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from corpus_support import build_corpus

from service.areas import Gazetteer
from service.retrieval.fusion import fuse
from service.retrieval.search import Filters, Searcher, SearchOptions
from service.store import open_store

ESTATES = """# Suffolk primary care estates review

## Premises

The review looked at every surgery building in the west of the area, their leases, the
state of their roofs and heating, and whether each could take more consulting rooms.
Several buildings need new windows before next winter, and two boilers are past repair.
Since 2019 the county has lost eleven chemists. Car parking at two health centres will be
extended, a new lift will be fitted in the Bury St Edmunds clinic, and the estates team
will survey the roofs of the older surgeries in the spring.
"""
PHARMACY = """# Pharmacy services

## Opening hours

Chemists in the county offer flu vaccinations. County chemists check blood pressure and
give advice on minor illnesses. Most chemists in the county open late on weekdays.
"""
COUNTY = """# County council report

## Population

How many people live in the county, and how many will by 2040? The county council
counts many residents, and many more will live in the county by then.
"""
QUESTION = "how many chemists has the county lost"
ANSWER = "lost eleven chemists"
# one candidate from each of the chunk vectors and the keywords: the answer's chunk is
# second in both, so only its sentence can bring it in
NARROW = SearchOptions(candidates=1, area_candidates=0, sentence_candidates=0)


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory, embedder) -> Searcher:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("sentences")
    build_corpus(folder / "corpus", folder / "index", embedder,
                 {"suffolk-estates.md": ESTATES, "pharmacy.md": PHARMACY,
                  "county.md": COUNTY})
    store = open_store(folder / "index")
    return Searcher(store.open(store.current() or ""), embedder, Gazetteer.load())


NO_FILTERS = Filters()


def texts(searcher: Searcher, options: SearchOptions, filters: Filters = NO_FILTERS
          ) -> list[str]:
    return [hit.text for hit in searcher.search(QUESTION, k=10, options=options,
                                                filters=filters).hits]


def test_a_passage_found_only_by_its_sentence_becomes_a_candidate(searcher: Searcher) -> None:
    without = texts(searcher, NARROW)
    assert without and not any(ANSWER in text for text in without)
    for fusion in ("convex", "rrf"):
        found = texts(searcher, SearchOptions(candidates=1, area_candidates=0, fusion=fusion,
                                              sentence_candidates=1))
        assert any(ANSWER in text for text in found), fusion
        assert set(without) <= set(found), "the other sources' candidates stay"
    matrix = searcher.sentence_source.matrix
    assert matrix is not None and matrix.rows == len(matrix.owners) > 5
    assert matrix.memory_bytes == matrix.rows * (384 * 2 + 8)  # float16 codes + chunk id


def test_the_sentence_source_reads_only_what_the_filter_allows(searcher: Searcher) -> None:
    on = SearchOptions(candidates=1, area_candidates=0, sentence_candidates=3)
    others = Filters(documents=("pharmacy-md", "county-md"))
    filtered = searcher.search(QUESTION, k=10, options=on, filters=others).hits
    assert filtered and {hit.document.id for hit in filtered} <= set(others.documents)
    vector = searcher.candidates.query_vector(QUESTION)
    allowed = searcher.candidates.allowed_ids(others)
    found = searcher.sentence_source.search(vector, 3, allowed, on.sentence_index_max)
    assert found and {i for i, _ in found} <= set(allowed or [])
    assert searcher.sentence_source.search(vector, 3, [], on.sentence_index_max) == []
    # the document filter is met by the estates review alone: its answer comes first
    only = Filters(documents=("suffolk-estates-md",))
    assert ANSWER in texts(searcher, on, only)[0]


def test_above_the_cap_the_source_is_off_and_says_so(
        tmp_path_factory: pytest.TempPathFactory, embedder, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
        ) -> None:
    folder = tmp_path_factory.mktemp("capped")
    build_corpus(folder / "corpus", folder / "index", embedder, {"estates.md": ESTATES})
    store = open_store(folder / "index")
    capped = Searcher(store.open(store.current() or ""), embedder, Gazetteer.load())
    options = SearchOptions(sentence_candidates=5, sentence_index_max=2)
    with caplog.at_level(logging.WARNING, logger="service.retrieval.sentence_source"):
        hits = capped.search(QUESTION, k=3, options=options).hits
    assert hits, "the search still answers from the other sources"
    assert capped.sentence_source.matrix is None
    assert "sentence_index_max" in caplog.text
    assert not capped.sentence_source.serves(options), \
        "re-scoring keeps its own weight when the source is off"


def test_fusion_adds_the_best_sentence_score_or_its_reciprocal_rank() -> None:
    dense, keyword, sentence = [(1, 0.5)], [(1, 2.0), (2, 1.0)], [(3, 0.6), (1, 0.4)]
    convex = SearchOptions(sentence_source_weight=0.5)
    scores = {c.chunk_id: c.score for c in fuse(dense, keyword, convex, "hybrid", sentence)}
    assert scores[3] == pytest.approx(0.3)
    assert scores[1] == pytest.approx(0.7 * 0.5 + 0.3 * 1.0 + 0.5 * 0.4)
    rrf = SearchOptions(fusion="rrf", sentence_source_weight=2.0, rrf_k=10)
    scores = {c.chunk_id: c.score for c in fuse(dense, keyword, rrf, "hybrid", sentence)}
    assert scores[3] == pytest.approx(2.0 / 11)
    assert scores[1] == pytest.approx(2.0 / 12 + 1.0 / 11 + 1.0 / 11)
    assert np.isclose(scores[2], 1.0 / 12)
