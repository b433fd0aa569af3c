"""Which FAISS index holds the chunk vectors, and searching whichever it is.

Exact search (IndexIDMap2 over IndexFlatIP) until the index passes `ANN_THRESHOLD`
vectors; above it an inverted-file index (IndexIVFFlat), which answers a query by scanning
only the `nprobe` lists nearest to it. IVF rather than HNSW because a build must remove
the chunks of changed and deleted documents: IVF supports `remove_ids`, HNSW does not,
and rebuilding an HNSW graph of a million vectors takes minutes on two cores. The
threshold and the IVF settings come from `scripts/bench.py` (see BENCHMARKS.md).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np

log = logging.getLogger(__name__)
# faiss's bundled type stubs miss most SWIG attributes (nlist, invlists, DirectMap...)
faiss: Any = _faiss

# Exact search costs ~1 ms per 10k vectors per query on one core (memory bandwidth);
# above this many vectors it alone would take most of the latency budget.
ANN_THRESHOLD = 150_000
# Back to exact search only well below the threshold, so a build that removes a few
# documents from an index near it doesn't flip the index type every time.
FLAT_BELOW = ANN_THRESHOLD // 2
NPROBE = 32
TRAIN_PER_LIST = 64  # training vectors per inverted list (faiss warns below 39)
# A filtered search inside an IVF index misses allowed vectors in unprobed lists: up to
# this many allowed ids are scored exactly (reconstructing costs ~1.7 µs per vector);
# larger subsets probe FILTERED_PROBES times more lists, and fall back to exact scoring
# if that still finds fewer than k.
EXACT_SUBSET = 5_000
FILTERED_PROBES = 8
BITMAP_FROM = 1_000  # allowed ids from which a filter's selector is a bitmap


def new_vector_index(dimension: int) -> Any:
    """An empty exact index; `fit_vector_index` switches it to IVF when it grows."""
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def nlist_for(count: int) -> int:
    """Inverted lists for `count` vectors: about 2·√n (2048 at 1M), a power of two, and
    never so many that k-means has fewer than 39 training points per list. Fewer, longer
    lists than the usual 4·√n halve the k-means training time on two cores; nprobe 32
    still scans under 2% of the vectors."""
    wanted = 2 ** round(math.log2(2 * math.sqrt(max(count, 1))))
    return max(1, min(wanted, 2 ** int(math.log2(max(count // 39, 1)))))


def is_ivf(index: Any) -> bool:
    return isinstance(faiss.downcast_index(index), faiss.IndexIVF)


def kind(index: Any) -> str:
    """The manifest's `vector_index` value, e.g. "IndexFlatIP" or "IndexIVFFlat"."""
    inner = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexIDMap):
        inner = faiss.downcast_index(inner.index)
    return type(inner).__name__


def all_vectors(index: Any) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of every entry, whichever kind the index is."""
    inner = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexIDMap):
        ids = faiss.vector_to_array(inner.id_map).astype(np.int64)
        flat = faiss.downcast_index(inner.index)
        return ids, flat.reconstruct_n(0, flat.ntotal)
    invlists = inner.invlists
    ids = np.concatenate([faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
                          for i in range(inner.nlist)]) if inner.ntotal else np.zeros(0, np.int64)
    return ids.astype(np.int64), inner.reconstruct_batch(ids)


def ivf_index(ids: np.ndarray, vectors: np.ndarray, seed: int = 1234) -> Any:
    """An IVF index trained on (a sample of) `vectors`, holding all of them."""
    dimension = vectors.shape[1]
    nlist = nlist_for(len(vectors))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, nlist,
                               faiss.METRIC_INNER_PRODUCT)
    sample_size = min(len(vectors), nlist * TRAIN_PER_LIST)
    sample = vectors[np.random.default_rng(seed).choice(len(vectors), sample_size,
                                                         replace=False)]
    index.cp.niter = 10  # centroids need only be roughly right for list assignment
    index.train(np.ascontiguousarray(sample))
    index.nprobe = NPROBE
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct() by chunk id
    index.add_with_ids(vectors, ids)
    return index


def fit_vector_index(index: Any) -> Any:
    """The index to publish for this many vectors: switch between exact and IVF at the
    threshold, and re-train an IVF index that has outgrown its lists."""
    count = index.ntotal
    if not is_ivf(index):
        if count <= ANN_THRESHOLD:
            return index
        log.info("%d vectors: switching to an IVF index", count)
        return ivf_index(*all_vectors(index))
    inner = faiss.downcast_index(index)
    if count < FLAT_BELOW:
        log.info("%d vectors: switching back to exact search", count)
        ids, vectors = all_vectors(index)
        exact = new_vector_index(inner.d)
        exact.add_with_ids(vectors, ids)
        return exact
    if nlist_for(count) >= 4 * inner.nlist:
        log.info("%d vectors: re-training the IVF index (%d lists)", count, nlist_for(count))
        return ivf_index(*all_vectors(index))
    return index


def read_vector_index(path: Path) -> Any:
    """Load a published index memory-mapped: generations are never modified, and
    forked workers then share one copy of the vectors in the page cache."""
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)


def one_query_per_thread() -> None:
    """For a server, process-wide: one query at a time per thread, as OpenMP threads only
    contend (4x slower measured). Builds keep the default, every core for training."""
    faiss.omp_set_num_threads(1)


@contextmanager
def one_thread() -> Iterator[None]:
    """Search one query on the calling thread alone. faiss would otherwise wake an
    OpenMP team per call: measured here, 12 ms instead of 0.03 ms for a 50-chunk index
    on a busy 2-core box. The setting is per thread (each request thread starts with the
    process default), so it is set around every search and then restored."""
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def excluding(ids: np.ndarray) -> Any:
    """A selector for every id but these (tombstones), to pass to `search`."""
    return faiss.IDSelectorNot(faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64)))


def search(index: Any, query: np.ndarray, k: int,
           allowed: Sequence[int] | np.ndarray | None = None,
           excluded: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of the top k, optionally only among `allowed` ids or skipping the
    ids an `excluding` selector names."""
    with one_thread():
        if excluded is not None and allowed is None:
            return _search_excluding(index, query, k, excluded)
        return _search(index, query, k, allowed)


def _search_excluding(index: Any, query: np.ndarray, k: int, excluded: Any
                      ) -> tuple[np.ndarray, np.ndarray]:
    query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    k = min(k, index.ntotal)
    if is_ivf(index):
        params = faiss.SearchParametersIVF(sel=excluded,
                                           nprobe=faiss.downcast_index(index).nprobe)
    else:
        params = faiss.SearchParameters(sel=excluded)
    scores, ids = index.search(query, k, params=params)
    return scores[0], ids[0]


def _search(index: Any, query: np.ndarray, k: int,
            allowed: Sequence[int] | np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    k = min(k, index.ntotal)
    if not is_ivf(index):
        params, kept = None, None
        if allowed is not None:
            selector, kept = id_selector(np.asarray(allowed, dtype=np.int64))
            params = faiss.SearchParameters(sel=selector)
        scores, ids = index.search(query, k, params=params)
        del kept  # the bitmap the selector reads, held until the search is done
        return scores[0], ids[0]
    if allowed is None:
        scores, ids = index.search(query, k)
        return scores[0], ids[0]
    subset = np.asarray(allowed, dtype=np.int64)
    if len(subset) <= EXACT_SUBSET:
        return exact_subset(index, query[0], subset, min(k, len(subset)))
    inner = faiss.downcast_index(index)
    # probe about 1/share times more lists (FILTERED_PROBES at most): the allowed
    # vectors scanned are then at least as many as an unfiltered search scans in all, so
    # a broad filter (a quarter of the chunks: 4x) no longer pays a narrow one's 8x
    # (issue 26; test_large_filtered_ivf_search_probes_more_lists holds recall at 1/3)
    widen = min(FILTERED_PROBES, max(2, -(-index.ntotal // len(subset))))
    selector, kept = id_selector(subset)
    params = faiss.SearchParametersIVF(sel=selector,
                                       nprobe=min(inner.nlist, inner.nprobe * widen))
    scores, ids = index.search(query, k, params=params)
    del kept
    if (ids[0] != -1).sum() < k:
        return exact_subset(index, query[0], subset, k)
    return scores[0], ids[0]


def id_selector(subset: np.ndarray) -> tuple[Any, np.ndarray | None]:
    """A FAISS selector for these ids, and the array it reads (keep it alive while it is
    used). A large set is a bitmap: building a batch selector (a hash set) of 50,000 ids
    took 7 ms a search, the bitmap 0.2 ms (issue 26)."""
    if len(subset) < BITMAP_FROM or int(subset.min()) < 0:
        return faiss.IDSelectorBatch(subset), None
    mask = np.zeros(int(subset.max()) + 1, dtype=bool)
    mask[subset] = True
    bits = np.packbits(mask, bitorder="little")
    return faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits)), bits


def exact_subset(index: Any, query: np.ndarray, subset: np.ndarray, k: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    if len(subset) == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    scores = faiss.downcast_index(index).reconstruct_batch(subset) @ query
    top = np.argsort(-scores)[:k]
    return scores[top], subset[top]
