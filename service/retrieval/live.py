"""The generation a server is answering from, swapped in when a build publishes a new
one. Checking costs one stat of the pointer file per request; no directory scans."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from service.store import generations
from service.areas import Gazetteer
from service.embedding.models import Embedder
from service.retrieval.search import Searcher, SearchOptions
from service.store.sqlite import IncompatibleIndex, IndexGeneration, IndexNotReady, check_model

log = logging.getLogger(__name__)

REPAIR_HINT = "run `make index` (or `python scripts/build_index.py --full` to rebuild from scratch)"


class LiveIndex:
    def __init__(self, index_dir: Path, embedder: Embedder, options: SearchOptions | None = None,
                 reranker: Any = None, query_cache_size: int = 1024) -> None:
        import faiss

        # one query at a time per thread: OpenMP threads only contend (4x slower measured)
        faiss.omp_set_num_threads(1)
        self.index_dir = index_dir
        self.embedder = embedder
        self.gazetteer = Gazetteer.load()
        self.options = options or SearchOptions()
        self.reranker = reranker
        self.query_cache_size = query_cache_size
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._signature: tuple[int, int] | None = None
        self.problem: str | None = None  # why we serve an older generation, or nothing
        self.loaded_generation: str | None = None

    def searcher(self) -> Searcher:
        """The searcher for the newest loadable generation. Requests already holding the
        old searcher keep it until they finish: it is never closed under them."""
        signature = generations.pointer_signature(self.index_dir)
        if signature != self._signature or self._searcher is None:
            with self._lock:
                if signature != self._signature or self._searcher is None:
                    self._reload(signature)
        if self._searcher is None:
            raise IndexNotReady(self.problem or f"no index has been built yet; {REPAIR_HINT}")
        return self._searcher

    def _reload(self, signature: tuple[int, int] | None) -> None:
        self._signature = signature
        current = generations.current_generation(self.index_dir)
        if current is None:
            if self._searcher is None:
                self.problem = f"no index has been built yet in {self.index_dir}; {REPAIR_HINT}"
            return
        if self._searcher is not None and self._searcher.generation.name == current.name:
            return
        candidates = [current] + [g for g in generations.published_generations(self.index_dir)
                                  if g.name != current.name]
        failures = []
        for path in candidates:
            if self._searcher is not None and path.name == self._searcher.generation.name:
                break  # nothing newer loads: keep serving what we have
            try:
                self._searcher = self._load(path)
            except IncompatibleIndex as error:
                failures.append(f"{path.name}: {error}")
                if path == current:
                    break  # an older generation would be just as incompatible
                continue
            except (IndexNotReady, OSError, RuntimeError, sqlite3.DatabaseError) as error:
                failures.append(f"{path.name}: {error}")
                log.error("cannot load index generation %s: %s", path.name, error)
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

    def _load(self, path: Path) -> Searcher:
        generation = IndexGeneration(path)
        try:
            check_model(generation.manifest, self.embedder.name)
            check_integrity(generation)
        except BaseException:
            generation.close()
            raise
        return Searcher(generation, self.embedder, self.gazetteer, self.options, self.reranker,
                        self.query_cache_size)


def check_integrity(generation: IndexGeneration) -> None:
    """Catch a damaged database at load time rather than on some later query: SQLite's
    quick_check reads every page, and the manifest's counts must match the tables."""
    with generation.db() as conn:
        try:
            verdict = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
            documents = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise IndexNotReady(f"{generation.name}: damaged database ({error})") from None
    if verdict != ["ok"]:
        raise IndexNotReady(f"{generation.name}: damaged database ({'; '.join(verdict)})")
    counts = generation.manifest.get("counts", {})
    if counts.get("documents", documents) != documents or \
            counts.get("chunks", generation.chunk_count) != generation.chunk_count:
        raise IndexNotReady(f"{generation.name}: the manifest's counts {counts} do not match "
                            f"the index ({documents} documents, {generation.chunk_count} chunks)")


def generation_problem(path: Path) -> str | None:
    """Why a published generation can't be served, or None if it loads cleanly."""
    try:
        generation = IndexGeneration(path)
    except (IndexNotReady, OSError, RuntimeError, sqlite3.DatabaseError) as error:
        return str(error)
    try:
        check_integrity(generation)
    except IndexNotReady as error:
        return str(error)
    finally:
        generation.close()
    return None
