"""The generation a server is answering from, swapped in when a build publishes a new
one. Checking costs one stat of the pointer file per request; no directory scans."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from service.areas import Gazetteer
from service.embedding import Embedder
from service.retrieval.options import SearchOptions
from service.retrieval.search import Searcher
from service.store import (
    GenerationWalk,
    IndexNotReady,
    Store,
    StoreUnavailable,
    check_model,
    serving_order,
    tune_for_serving,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
REPAIR_HINT = "run `make index` (or `python scripts/build_index.py --full` to rebuild from scratch)"


class LiveIndex:
    def __init__(self, store: Store, embedder: Embedder, options: SearchOptions | None = None,
                 reranker: Any = None, query_cache_size: int = 1024) -> None:
        tune_for_serving()
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
        self.bad_generation: str | None = None  # CURRENT, when it is not what we serve
        self.loaded_generation: str | None = None
        # called with CURRENT's name when no generation is usable because their files
        # are damaged; starts a rebuild and says so (the web layer sets it: see
        # indexing.self_repair). Called once per process and CURRENT.
        self.repair: Callable[[str], str] | None = None
        self._repair_note: tuple[str, str] | None = None  # (CURRENT, what repair said)

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

    def answer(self, work: Callable[[Searcher], T]) -> T:
        """`work` on the live searcher. If its generation turns out damaged mid-request,
        stop serving it and run `work` once more on the fallback."""
        searcher = self.searcher()
        try:
            return work(searcher)
        except StoreUnavailable:
            raise  # the server, not the generation: 503 and retry
        except IndexNotReady as error:
            if not self.condemn(searcher.generation.name, str(error)):
                raise
            return work(self.searcher())

    def checked_searcher(self) -> Searcher:
        """The searcher, after a cheap look (sizes) at whether its files were damaged
        since it was loaded; for health checks."""
        searcher = self.searcher()
        changed = searcher.generation.changed()
        if changed is not None and self.condemn(searcher.generation.name, changed):
            return self.searcher()
        return searcher

    def condemn(self, name: str, error: str) -> bool:
        """A request met damage in generation `name`. If the generation fails
        verification now, mark it bad and fall back; requests already holding it finish
        on it. Returns whether `name` is (now) out of service."""
        with self._lock:
            serving = self._searcher.generation.name if self._searcher is not None else None
            if serving != name:
                return self.store.bad(name) is not None  # another thread got there first
            # Every byte, whatever the index's size: a request has already met damage,
            # and damage that keeps a file's size passes the size check, and the cheap
            # verification of a load skips checksums above CHEAP_CHECKSUM_BYTES. Rare.
            problem = self.store.problem(name, thorough=True)
            if problem is None:
                log.warning("generation %s verifies, so not condemned for: %s", name, error)
                return False
            if self.store.bad(name) is None:
                self.store.mark_bad(name, problem)
            self._searcher = None
            self._reload(self.store.signature())
        return True

    def _reload(self, signature: Hashable | None) -> None:
        try:
            self._load_newest(signature)
        except StoreUnavailable:
            self._signature = None  # look again once the store answers
            raise

    def _load_newest(self, signature: Hashable | None) -> None:
        self._signature = signature
        current = self.store.current()
        if current is None:
            if self._searcher is None:
                self.problem = f"no index has been built yet in {self.store}; {REPAIR_HINT}"
            return
        serving = self._searcher.generation.name if self._searcher is not None else None
        if serving is not None and self.store.bad(serving) is not None:
            # another process found it damaged since we loaded it: a file it maps may be
            # truncated, and touching that kills this worker with SIGBUS. Drop it now
            # (requests holding it finish on it) and load the newest good one.
            self._searcher, serving = None, None
        if serving == current:
            # e.g. a repair pointed CURRENT back at the generation we fell back to
            self.problem = self.bad_generation = None
            return
        failures, damaged = self._try_generations(current, serving)
        serving = self._searcher.generation.name if self._searcher is not None else None
        self.bad_generation = current if serving not in (None, current) else None
        if self._searcher is None:
            repair = self._repaired(current) if damaged else None
            note = f"{repair}; " if repair else ""
            self.problem = f"no usable index generation ({'; '.join(failures)}); {note}" \
                           f"{REPAIR_HINT}"
        elif failures:
            self.problem = (f"serving {self._searcher.generation.name} because a newer generation "
                            f"failed to load: {'; '.join(failures)}; {REPAIR_HINT}")
        else:
            self.problem = None
        if self._searcher is not None:
            self.loaded_generation = self._searcher.generation.name
            log.info("serving index generation %s", self.loaded_generation)

    def _try_generations(self, current: str, serving: str | None) -> tuple[list[str], bool]:
        """Load the newest loadable generation newer than `serving`, marking damaged ones
        bad (the store's one generation policy). Returns why the others failed, and
        whether every failure was damage (which a full rebuild repairs)."""
        walk = GenerationWalk(self.store, self._load)
        found = next(walk.good(serving_order(self.store, current, serving)), None)
        if found is not None:
            self._searcher = found[1]
        return walk.failures, walk.damaged

    def _repaired(self, current: str) -> str | None:
        """What the repair hook did about an unusable CURRENT; asked once per CURRENT, as
        an unusable index is looked at again on every request."""
        if self.repair is None:
            return None
        if self._repair_note is None or self._repair_note[0] != current:
            try:
                self._repair_note = (current, self.repair(current))
            except OSError as error:  # e.g. a full disk: the 503 still answers
                log.exception("could not start a repair of %s", current)
                return f"starting a repair failed ({error})"
        return self._repair_note[1]

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
