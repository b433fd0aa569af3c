"""The embedded store: generations of FAISS + SQLite files in one local folder, with a
CURRENT pointer swapped atomically. The default backend, and the only one that needs no
server."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Hashable
from itertools import islice
from pathlib import Path
from typing import Any

from service.store import backend_base, generations, layout
from service.store.generation_policy import good_generations
from service.store.interface import IndexWriter
from service.store.question_log import SqliteQuestionLog
from service.store.reader import EmbeddedGeneration
from service.store.records import IncompatibleIndex, IndexNotReady
from service.store.writer import StagingGeneration

log = logging.getLogger(__name__)


def verification_problem(folder: Path, thorough: bool = False,
                         trusted: frozenset[str] = frozenset()) -> str | None:
    """Why the generation in `folder` fails to load or verify, or None."""
    try:
        generation = EmbeddedGeneration(folder)
    except (IndexNotReady, IncompatibleIndex) as error:
        return str(error)
    try:
        generation.verify(thorough, trusted)
    except IndexNotReady as error:
        return str(error)
    finally:
        generation.close()
    return None


def staged(writer: IndexWriter) -> StagingGeneration:
    return backend_base.staged(writer, StagingGeneration, "embedded store")


class EmbeddedStore(backend_base.BackendBase):
    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        self._questions: SqliteQuestionLog | None = None

    def __str__(self) -> str:
        return str(self.index_dir)

    def state(self) -> dict[str, Any]:
        return {"backend": "embedded"}

    def question_log(self) -> SqliteQuestionLog:
        if self._questions is None:
            self._questions = SqliteQuestionLog(self.index_dir)
        return self._questions

    # --- reading ------------------------------------------------------------------------
    def signature(self) -> Hashable | None:
        """The pointer, and the bad marks: a worker serving a generation that another
        process has since found damaged (e.g. a file that killed a worker with SIGBUS)
        must stop reading it. Two stats a request, no listing."""
        pointer = generations.pointer_signature(self.index_dir)
        if pointer is None:
            return None
        return pointer, generations.bad_stamp_signature(self.index_dir)

    def current(self) -> str | None:
        path = generations.current_generation(self.index_dir)
        return path.name if path is not None else None

    def published(self) -> list[str]:
        return [p.name for p in generations.published_generations(self.index_dir)]

    def manifest(self, name: str) -> dict[str, Any]:
        return layout.read_manifest(self.index_dir / name)

    def open(self, name: str) -> EmbeddedGeneration:
        return EmbeddedGeneration(self.index_dir / name)

    def problem(self, name: str, thorough: bool = False) -> str | None:
        """Why a published generation can't be served (marked bad, or failing
        verification now), or None if it loads cleanly."""
        return self.bad(name) or verification_problem(self.index_dir / name, thorough)

    def bad(self, name: str) -> str | None:
        return generations.bad_reason(self.index_dir, name)

    def mark_bad(self, name: str, reason: str) -> None:
        log.error("index generation %s marked bad: %s", name, reason)
        generations.mark_bad(self.index_dir, name, reason)

    # --- writing ------------------------------------------------------------------------
    def begin(self, base: str | None, dimension: int) -> StagingGeneration:
        """A staging generation: a copy of `base`, or empty. Call under the build lock."""
        number = generations.next_generation_number(self.index_dir)
        folder = self.index_dir / f"staging-{number:06d}-{os.getpid()}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        try:
            return StagingGeneration(folder, number, self.index_dir / base if base else None,
                                     dimension)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def publish(self, writer: IndexWriter) -> str:
        """Verify the finished generation in full, then make it CURRENT. One that fails
        raises IndexNotReady and never becomes CURRENT."""
        staging = staged(writer)
        # in full, but for the segments linked from the (verified) base generation
        problem = verification_problem(staging.folder, thorough=True,
                                       trusted=frozenset(staging.linked))
        if problem is not None:
            raise IndexNotReady(f"the new generation failed verification, so it was not "
                                f"published: {problem}")
        return generations.publish(self.index_dir, staging.folder, staging.number).name

    def discard(self, writer: IndexWriter) -> None:
        staging = staged(writer)
        staging.close()
        shutil.rmtree(staging.folder, ignore_errors=True)

    def point_to(self, name: str) -> None:
        generations.point_to(self.index_dir, self.index_dir / name)

    def prune(self, fallbacks: int = 1) -> list[str]:
        """Keep CURRENT and the newest `fallbacks` other generations that verify; delete
        the rest, bad ones included (their reasons are in the log)."""
        keep = set(islice(good_generations(self, exclude=self.current()), fallbacks))
        return generations.prune(self.index_dir, keep)
