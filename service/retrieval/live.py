"""The generation a server is answering from, swapped in when a build publishes a new
one. Checking costs one stat of the pointer file per request; no directory scans."""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable
from typing import Any

from service.areas import Gazetteer
from service.embedding import Embedder
from service.retrieval.options import SearchOptions
from service.retrieval.search import Searcher
from service.store import LOAD_ERRORS, IncompatibleIndex, IndexNotReady, Store, check_model

log = logging.getLogger(__name__)

REPAIR_HINT = "run `make index` (or `python scripts/build_index.py --full` to rebuild from scratch)"


class LiveIndex:
    def __init__(self, store: Store, embedder: Embedder, options: SearchOptions | None = None,
                 reranker: Any = None, query_cache_size: int = 1024) -> None:
        import faiss

        # one query at a time per thread: OpenMP threads only contend (4x slower measured)
        faiss.omp_set_num_threads(1)
        self.store = store
        self.embedder = embedder
        self.gazetteer = Gazetteer.load()
        self.options = options or SearchOptions()
        self.reranker = reranker
        self.query_cache_size = query_cache_size
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._signature: Hashable | None = None
        self.problem: str | None = None  # why we serve an older generation, or nothing
        self.loaded_generation: str | None = None

    def searcher(self) -> Searcher:
        """The searcher for the newest loadable generation. Requests already holding the
        old searcher keep it until they finish: it is never closed under them."""
        signature = self.store.signature()
        if signature != self._signature or self._searcher is None:
            with self._lock:
                if signature != self._signature or self._searcher is None:
                    self._reload(signature)
        if self._searcher is None:
            raise IndexNotReady(self.problem or f"no index has been built yet; {REPAIR_HINT}")
        return self._searcher

    def _reload(self, signature: Hashable | None) -> None:
        self._signature = signature
        current = self.store.current()
        if current is None:
            if self._searcher is None:
                self.problem = f"no index has been built yet in {self.store}; {REPAIR_HINT}"
            return
        serving = self._searcher.generation.name if self._searcher is not None else None
        if serving == current:
            return
        candidates = [current] + [name for name in self.store.published() if name != current]
        failures = []
        for name in candidates:
            if name == serving:
                break  # nothing newer loads: keep serving what we have
            try:
                self._searcher = self._load(name)
            except IncompatibleIndex as error:
                failures.append(f"{name}: {error}")
                if name == current:
                    break  # an older generation would be just as incompatible
                continue
            except LOAD_ERRORS as error:
                failures.append(f"{name}: {error}")
                log.error("cannot load index generation %s: %s", name, error)
                continue
            break
        if self._searcher is None:
            self.problem = f"no usable index generation ({'; '.join(failures)}); {REPAIR_HINT}"
        elif failures:
            self.problem = (f"serving {self._searcher.generation.name} because a newer generation "
                            f"failed to load: {'; '.join(failures)}; {REPAIR_HINT}")
        else:
            self.problem = None
        if self._searcher is not None:
            self.loaded_generation = self._searcher.generation.name
            log.info("serving index generation %s", self.loaded_generation)

    def _load(self, name: str) -> Searcher:
        generation = self.store.open(name)
        try:
            check_model(generation.manifest, self.embedder.name)
            generation.verify()
        except BaseException:
            generation.close()
            raise
        return Searcher(generation, self.embedder, self.gazetteer, self.options, self.reranker,
                        self.query_cache_size)
