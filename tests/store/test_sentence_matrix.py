"""The in-memory sentence index (service/store/sentence_matrix.py): search by chunk, a
filter, and each chunk's best row, whatever order the rows were added in."""

from __future__ import annotations

import numpy as np
import pytest

from service.store.sentence_matrix import SentenceMatrix


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture(params=["in chunk order", "out of order"])
def matrix(request: pytest.FixtureRequest) -> SentenceMatrix:
    rows = {7: [unit(1, 0, 0), unit(0, 1, 0)], 3: [unit(1, 1, 0)], 9: [unit(0, 0, 1)]}
    order = [3, 7, 9] if request.param == "in chunk order" else [9, 7, 3]
    matrix = SentenceMatrix(3)
    for chunk_id in order:
        matrix.add(np.stack(rows[chunk_id]), np.full(len(rows[chunk_id]), chunk_id))
    matrix.finish()
    return matrix


def test_chunks_come_by_their_best_row_once_each(matrix: SentenceMatrix) -> None:
    query = unit(1, 0.2, 0)
    found = matrix.search(query, 3, overfetch=4)
    assert [i for i, _ in found] == [7, 3, 9]
    assert found[0][1] == pytest.approx(float(unit(1, 0, 0) @ query), abs=1e-3)
    assert [i for i, _ in matrix.search(query, 1, overfetch=4, allowed=[3, 9])] == [3]
    assert matrix.search(query, 3, overfetch=4, allowed=[]) == []


def test_best_reads_each_chunks_rows(matrix: SentenceMatrix) -> None:
    query = unit(0, 1, 0)
    best = matrix.best(query, [9, 7, 42, 7])
    assert set(best) == {7, 9}, "a chunk without rows is left out"
    assert best[7] == pytest.approx(1.0, abs=1e-3) and best[9] == pytest.approx(0.0, abs=1e-3)
    assert matrix.best(query, [42]) == {}
    assert matrix.memory_bytes >= matrix.rows * (3 * 2 + 8)
