"""A third candidate source for hybrid search: every stored sentence vector of the live
generation in one in-memory index, searched with the query's vector. A chunk whose one
sentence says what the question asks, in other words than its neighbours (a paraphrase
deep in a long passage), can be far down the chunk-vector list and match no keyword;
here it is found by that sentence, and fusion gives it its best sentence score.

The index is built on the first search that asks for it and kept for the generation (a
Searcher serves one generation). It holds float16 codes, 2 bytes a dimension (768 bytes
a sentence at 384 dimensions), plus 8 bytes of chunk id a sentence. Above
`SearchOptions.sentence_index_max` sentences it is not built: a warning is logged, the
source gives no candidates and re-scoring keeps its own weight (BENCHMARKS.md, "A
sentence-level candidate source")."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np

from service.retrieval.options import SearchOptions
from service.store import IndexReader, Ranked
from service.store.sentence_matrix import SentenceMatrix

log = logging.getLogger(__name__)
BATCH = 65_536  # sentences added to the index at a time
OVERFETCH = 4  # sentences read for each chunk wanted: a chunk often has several close


class SentenceSource:
    """Thread-safe: built once under a lock, then only read."""

    def __init__(self, generation: IndexReader) -> None:
        self.generation = generation
        self._lock = threading.Lock()
        self._built = False
        self.matrix: SentenceMatrix | None = None

    def ready(self, cap: int) -> bool:
        """Build the index on first use; False when the generation has no sentence
        vectors or more than `cap` of them (the cap of the first search that asks
        decides, for the generation: a service's options do not change)."""
        if not self._built:
            with self._lock:
                if not self._built:
                    self.matrix = self._build(cap)
                    self._built = True
        return self.matrix is not None and self.matrix.rows > 0

    def serves(self, options: SearchOptions) -> bool:
        """The options ask for the source and it is there (built, under the cap)."""
        return options.sentence_candidates > 0 and self.ready(options.sentence_index_max)

    def _build(self, cap: int) -> SentenceMatrix | None:
        matrix, count, waiting = None, 0, 0
        pending: list[np.ndarray] = []
        owners: list[np.ndarray] = []
        for chunk_id, vectors in self.generation.all_sentence_vectors():
            count += len(vectors)
            if count > cap:
                log.warning("sentence candidate source off for %s: more than %d sentence "
                            "vectors (SearchOptions.sentence_index_max)",
                            self.generation.name, cap)
                return None
            matrix = matrix or SentenceMatrix(vectors.shape[1])
            pending.append(vectors)
            owners.append(np.full(len(vectors), chunk_id, np.int64))
            waiting += len(vectors)
            if waiting >= BATCH:
                matrix.add(np.vstack(pending), np.concatenate(owners))
                pending, owners, waiting = [], [], 0
        if matrix is not None:
            if pending:
                matrix.add(np.vstack(pending), np.concatenate(owners))
            matrix.finish()
            log.info("sentence index for %s: %d sentences, %.1f MB", self.generation.name,
                     matrix.rows, matrix.memory_bytes / 1e6)
        return matrix

    def search(self, vector: np.ndarray, chunks: int, allowed: Sequence[int] | None,
               cap: int) -> Ranked:
        """The chunks holding the best sentences, each with its best sentence's
        similarity, best first; only chunks in `allowed` when it is given."""
        if chunks <= 0 or not self.ready(cap) or self.matrix is None:
            return []
        return self.matrix.search(vector, chunks, OVERFETCH, allowed)

    def complete(self, sentence: Ranked, others: Sequence[int], vector: np.ndarray
                 ) -> Ranked:
        """The sentence list with every other candidate's best sentence similarity too
        (0 for a chunk without sentences), read from the same index, so convex fusion
        never reads "not among the top sentences" as a zero it never measured."""
        listed = {i for i, _ in sentence}
        missing = [i for i in dict.fromkeys(others) if i not in listed]
        if not missing or self.matrix is None:
            return sentence
        best = self.matrix.best(vector, missing)
        extra = [(i, best.get(i, 0.0)) for i in missing]
        return sentence + sorted(extra, key=lambda pair: -pair[1])
