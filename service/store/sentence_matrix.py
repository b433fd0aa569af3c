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


class SentenceMatrix:
    """Filled once with `add`, then only searched (safe for concurrent searches)."""

    def __init__(self, dimension: int) -> None:
        self.index = faiss.IndexScalarQuantizer(dimension, faiss.ScalarQuantizer.QT_fp16,
                                                faiss.METRIC_INNER_PRODUCT)
        self._owners: list[np.ndarray] = []
        self.owners = np.zeros(0, np.int64)  # row -> chunk id, once `finish`ed

    @property
    def rows(self) -> int:
        return int(self.index.ntotal)

    @property
    def memory_bytes(self) -> int:
        """What the index holds: each row's float16 codes and its chunk id."""
        return self.rows * (int(self.index.code_size) + OWNER_BYTES)

    def add(self, vectors: np.ndarray, owners: np.ndarray) -> None:
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self._owners.append(np.asarray(owners, np.int64))

    def finish(self) -> None:
        self.owners = np.concatenate(self._owners) if self._owners else np.zeros(0, np.int64)
        self._owners = []

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
