"""Rocchio feedback on the dense side (service/retrieval/feedback.py)."""

from __future__ import annotations

import numpy as np
import pytest

from service.retrieval.feedback import expanded_vector


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_the_query_moves_towards_each_chunks_closest_sentence() -> None:
    query = unit(1, 0, 0)
    stored = {
        1: ((), np.stack([unit(0, 0, 1), unit(1, 1, 0)])),  # the second is closer
        2: ((), np.stack([unit(1, 1, 0)])),
    }
    moved = expanded_vector(query, [1, 2], stored, weight=1.0)  # type: ignore[arg-type]
    assert moved is not None
    assert np.linalg.norm(moved) == pytest.approx(1.0, abs=1e-6)
    assert moved == pytest.approx(unit(1 + 2 ** -0.5, 2 ** -0.5, 0), abs=1e-6)
    assert moved[2] == 0.0, "a chunk's farther sentences do not pull the query"


def test_no_stored_sentences_leaves_the_query_alone() -> None:
    assert expanded_vector(unit(1, 0), [7], {}, weight=0.5) is None
