"""Filters that allow a large share of the index (issue 26: a type, a span of years):
the vector search reads them as a bitmap and the keyword search filters after ranking,
and both still answer exactly what the filter allows, best first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from service.store import keyword_index, vector_index
from service.store.keyword_index import KeywordIndex, KeywordSearcher
from tests.store.test_keyword_index import TEXTS
from tests.store.test_vector_index import brute_force, clustered


@pytest.mark.parametrize("step", [2, 7, 400])  # bitmaps of 1,500 and 429 ids; a batch of 8
def test_a_filtered_exact_search_is_the_brute_force_answer(step: int) -> None:
    vectors = clustered(3_000, seed=9)
    ids = np.arange(3_000, dtype=np.int64) * 5 + 11  # sparse, as after deletions
    index = vector_index.new_vector_index(32)
    index.add_with_ids(vectors, ids)
    chosen = slice(0, None, step)
    for row in (3, 1_234, 2_999):
        _, found = vector_index.search(index, vectors[row], 10, ids[chosen].tolist())
        assert list(found[:min(10, len(ids[chosen]))]) == brute_force(
            vectors[chosen], ids[chosen], vectors[row], 10)


def test_a_bitmap_selector_holds_exactly_its_ids() -> None:
    subset = np.array([0, 7, 8, 1_000, 999_999], dtype=np.int64).repeat(250)
    selector, bits = vector_index.id_selector(subset)
    assert bits is not None  # at least BITMAP_FROM ids: a bitmap
    members = [i for i in (0, 1, 7, 8, 9, 999, 1_000, 999_998, 999_999, 1_000_000)
               if selector.is_member(i)]
    assert members == [0, 7, 8, 1_000, 999_999]


@pytest.fixture
def searcher(tmp_path: Path) -> KeywordSearcher:
    index = KeywordIndex.create(tmp_path / "keywords")
    for chunk_id, text in enumerate(TEXTS * 4, start=1):
        index.add(chunk_id, text)
    index.commit()
    return KeywordSearcher(tmp_path / "keywords")


@pytest.mark.parametrize("share", [2, 3, 8])  # half, a third, an eighth of the chunks
def test_a_broad_keyword_filter_ranks_exactly_the_allowed_chunks(
        searcher: KeywordSearcher, share: int) -> None:
    query = searcher.query("urgent care budget waiting")
    assert query is not None
    everything = searcher.search(query, 1_000)
    allowed = list(range(1, len(TEXTS) * 4 + 1, share))
    assert len(allowed) >= keyword_index.BROAD_FILTER_SHARE * searcher.count  # after ranking
    expected = [score for chunk_id, score in everything if chunk_id in allowed][:5]
    found = searcher.search(query, 5, allowed)
    assert [score for _, score in found] == pytest.approx(expected)
    assert {chunk_id for chunk_id, _ in found} <= set(allowed)


def test_a_broad_filter_with_too_few_matches_falls_back_to_the_exact_set(
        searcher: KeywordSearcher, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyword_index, "BROAD_FETCH_MARGIN", 0.01)  # fetch almost nothing
    query = searcher.query("workforce nurses")
    assert query is not None
    allowed = list(range(1, len(TEXTS) * 4 + 1, 2))
    everything = searcher.search(query, 1_000)
    expected = [pair for pair in everything if pair[0] in allowed][:4]
    assert [s for _, s in searcher.search(query, 4, allowed)] == pytest.approx(
        [s for _, s in expected])
