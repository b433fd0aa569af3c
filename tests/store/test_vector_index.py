"""The vector index switches between exact and IVF search by size, and both answer
the same questions: top-k, filtered top-k, removal and memory-mapped loading."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from service.store import vector_index


@pytest.fixture
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vector_index, "ANN_THRESHOLD", 2_000)
    monkeypatch.setattr(vector_index, "FLAT_BELOW", 1_000)


def clustered(count: int, dimension: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dimension))
    points = centres[rng.integers(0, 40, count)] + 0.3 * rng.normal(size=(count, dimension))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32)


def brute_force(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    return [int(i) for i in ids[np.argsort(-(vectors @ query))[:k]]]


def test_switches_to_ivf_above_the_threshold_and_back(small_threshold: None,
                                                      tmp_path: Path) -> None:
    vectors = clustered(3_000)
    ids = np.arange(3_000, dtype=np.int64) * 7 + 1  # chunk ids are not positions
    index = vector_index.new_vector_index(32)
    index.add_with_ids(vectors[:1_500], ids[:1_500])
    assert vector_index.fit_vector_index(index) is index  # below the threshold: untouched
    index.add_with_ids(vectors[1_500:], ids[1_500:])
    index = vector_index.fit_vector_index(index)
    assert vector_index.kind(index) == "IndexIVFFlat" and index.ntotal == 3_000

    query = vectors[17]
    scores, found = vector_index.search(index, query, 10)
    assert int(found[0]) == int(ids[17]) and scores[0] == pytest.approx(1.0, abs=1e-5)
    allowed = ids[::5]
    _, found = vector_index.search(index, query, 10, allowed)
    assert list(found) == brute_force(vectors[::5], allowed, query, 10)

    index.remove_ids(ids[:2_500])
    faiss.write_index(index, str(tmp_path / "v.faiss"))
    loaded = vector_index.read_vector_index(tmp_path / "v.faiss")
    assert loaded.ntotal == 500
    _, found = vector_index.search(loaded, vectors[2_600], 1)
    assert int(found[0]) == int(ids[2_600])

    exact = vector_index.fit_vector_index(index)
    assert vector_index.kind(exact) == "IndexFlatIP"
    _, found = vector_index.search(exact, vectors[2_700], 5)
    assert list(found) == brute_force(vectors[2_500:], ids[2_500:], vectors[2_700], 5)


def test_memory_mapped_flat_index_answers_like_the_original(tmp_path: Path) -> None:
    vectors = clustered(500)
    ids = np.arange(500, dtype=np.int64) + 100
    index = vector_index.new_vector_index(32)
    index.add_with_ids(vectors, ids)
    faiss.write_index(index, str(tmp_path / "v.faiss"))
    loaded = vector_index.read_vector_index(tmp_path / "v.faiss")
    _, found = vector_index.search(loaded, vectors[3], 5, ids[:50])
    assert list(found) == brute_force(vectors[:50], ids[:50], vectors[3], 5)


def test_a_truncated_vector_file_fails_to_load(tmp_path: Path) -> None:
    index = vector_index.new_vector_index(32)
    index.add_with_ids(clustered(100), np.arange(100, dtype=np.int64))
    path = tmp_path / "v.faiss"
    faiss.write_index(index, str(path))
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(RuntimeError):
        vector_index.read_vector_index(path)


def test_large_filtered_ivf_search_probes_more_lists(small_threshold: None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vector_index, "EXACT_SUBSET", 10)  # take the probing path
    vectors = clustered(3_000, seed=4)
    ids = np.arange(3_000, dtype=np.int64) + 1
    index = vector_index.new_vector_index(32)
    index.add_with_ids(vectors, ids)
    index = vector_index.fit_vector_index(index)
    allowed = ids[1::3]
    for row in (5, 500, 2_000):
        _, found = vector_index.search(index, vectors[row], 10, allowed)
        expected = brute_force(vectors[1::3], allowed, vectors[row], 10)
        assert len(set(found) & set(expected)) >= 9
