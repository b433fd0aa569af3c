"""The embedded store: generations of FAISS + SQLite files in one local folder, with a
CURRENT pointer swapped atomically. The default backend, and the only one that needs no
server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service.store import generations, layout
from service.store.interface import IndexWriter
from service.store.reader import EmbeddedGeneration
from service.store.records import IndexNotReady
from service.store.writer import StagingGeneration

# what a damaged generation raises while loading or verifying
LOAD_ERRORS = (IndexNotReady, OSError, RuntimeError, layout.DatabaseError)


def staged(writer: IndexWriter) -> StagingGeneration:
    if not isinstance(writer, StagingGeneration):
        raise TypeError(f"not a writer of the embedded store: {writer!r}")
    return writer


class EmbeddedStore:
    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)

    def __str__(self) -> str:
        return str(self.index_dir)

    # --- reading ------------------------------------------------------------------------
    def signature(self) -> Hashable | None:
        return generations.pointer_signature(self.index_dir)

    def current(self) -> str | None:
        path = generations.current_generation(self.index_dir)
        return path.name if path is not None else None

    def published(self) -> list[str]:
        return [p.name for p in generations.published_generations(self.index_dir)]

    def manifest(self, name: str) -> dict[str, Any]:
        return layout.read_manifest(self.index_dir / name)

    def open(self, name: str) -> EmbeddedGeneration:
        return EmbeddedGeneration(self.index_dir / name)

    def problem(self, name: str) -> str | None:
        """Why a published generation can't be served, or None if it loads cleanly."""
        try:
            generation = self.open(name)
        except LOAD_ERRORS as error:
            return str(error)
        try:
            generation.verify()
        except LOAD_ERRORS as error:
            return str(error)
        finally:
            generation.close()
        return None

    # --- writing ------------------------------------------------------------------------
    @contextmanager
    def build_lock(self) -> Iterator[None]:
        with generations.build_lock(self.index_dir):
            yield

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
        staging = staged(writer)
        return generations.publish(self.index_dir, staging.folder, staging.number).name

    def discard(self, writer: IndexWriter) -> None:
        staging = staged(writer)
        staging.close()
        shutil.rmtree(staging.folder, ignore_errors=True)

    def point_to(self, name: str) -> None:
        generations.point_to(self.index_dir, self.index_dir / name)

    def prune(self, keep: int = 2) -> list[str]:
        return generations.prune(self.index_dir, keep=keep)
