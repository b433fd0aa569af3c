"""An in-memory inner-product index over many short vectors, each owned by a chunk: the
whole-index sentence search of retrieval's sentence candidate source. FAISS stays in the
store; float16 codes (a scalar quantiser) halve the memory of float32."""

from __future__ import annotations

from collections.abc import Sequence

import faiss
import numpy as np

from service.store import vector_index
from service.store.records import Ranked

OWNER_BYTES = 8  # the chunk id kept for each row
ORDER_BYTES = 4  # each row's place in chunk id order, when rows were not added in it


class SentenceMatrix:
    """Filled once with `add`, then only searched (safe for concurrent searches)."""

    def __init__(self, dimension: int) -> None:
        self.index = faiss.IndexScalarQuantizer(dimension, faiss.ScalarQuantizer.QT_fp16,
                                                faiss.METRIC_INNER_PRODUCT)
        self._owners: list[np.ndarray] = []
        self.owners = np.zeros(0, np.int64)  # row -> chunk id, once `finish`ed
        self._order: np.ndarray | None = None  # rows in chunk id order, if not already
        self._sorted = self.owners  # the owners in chunk id order

    @property
    def rows(self) -> int:
        return int(self.index.ntotal)

    @property
    def memory_bytes(self) -> int:
        """What the index holds: each row's float16 codes and its chunk id."""
        extra = ORDER_BYTES + OWNER_BYTES if self._order is not None else 0
        return self.rows * (int(self.index.code_size) + OWNER_BYTES + extra)

    def add(self, vectors: np.ndarray, owners: np.ndarray) -> None:
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self._owners.append(np.asarray(owners, np.int64))

    def finish(self) -> None:
        self.owners = np.concatenate(self._owners) if self._owners else np.zeros(0, np.int64)
        self._owners = []
        self._sorted = self.owners
        if len(self.owners) and np.any(np.diff(self.owners) < 0):
            self._order = np.argsort(self.owners, kind="stable").astype(np.int32)
            self._sorted = self.owners[self._order]

    def best(self, vector: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Each chunk's best row score, for the chunks among `ids` that have rows."""
        wanted = np.unique(np.asarray(ids, np.int64))
        left = np.searchsorted(self._sorted, wanted, "left")
        right = np.searchsorted(self._sorted, wanted, "right")
        has = right > left
        if not has.any():
            return {}
        spans = [np.arange(a, b) for a, b in zip(left[has], right[has], strict=True)]
        places = np.concatenate(spans)
        rows = places if self._order is None else self._order[places]
        scores = self.index.reconstruct_batch(rows.astype(np.int64)) @ vector
        starts = np.concatenate([[0], np.cumsum([len(s) for s in spans])[:-1]])
        return dict(zip(wanted[has].tolist(), np.maximum.reduceat(scores, starts).tolist(),
                        strict=True))

    def search(self, vector: np.ndarray, chunks: int, overfetch: int,
               allowed: Sequence[int] | None = None) -> Ranked:
        """The `chunks` chunks owning the best rows, each with its best row's score,
        best first, reading `overfetch` rows for each chunk wanted; only chunks in
        `allowed` when it is given."""
        if chunks <= 0 or not self.rows:
            return []
        rows = None
        if allowed is not None:
            rows = np.flatnonzero(np.isin(self.owners, np.asarray(allowed, np.int64)))
            if not len(rows):
                return []
        scores, found = vector_index.search(self.index, vector, chunks * overfetch, rows)
        best: dict[int, float] = {}
        for row, score in zip(found, scores, strict=True):
            if row == -1:
                continue
            chunk_id = int(self.owners[row])
            if chunk_id not in best:
                best[chunk_id] = float(score)
                if len(best) == chunks:
                    break
        return sorted(best.items(), key=lambda pair: -pair[1])
