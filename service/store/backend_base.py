"""What both backends share: the build lock in the local index folder, the check that
a writer handed back is one of their own, and the generation policy's `newest_good`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from service.store import generation_policy, generations
from service.store.interface import IndexWriter, Store

W = TypeVar("W")


def staged(writer: IndexWriter, kind: type[W], backend: str) -> W:
    """`writer`, checked to be a staging generation of this backend (`kind`)."""
    if not isinstance(writer, kind):
        raise TypeError(f"not a writer of the {backend}: {writer!r}")
    return writer


class BackendBase:
    """The parts of a `Store` that do not depend on where the index lives."""

    index_dir: Path  # the build lock, jobs and rate limits: local disk on every backend

    @contextmanager
    def build_lock(self) -> Iterator[None]:
        """One builder at a time, by a lock file in the local index folder (so builds of
        a Milvus index run from one machine)."""
        with generations.build_lock(self.index_dir):
            yield

    def newest_good(self: Store, exclude: str | None = None) -> str | None:
        """The newest generation that verifies (marking bad the newer ones that don't)."""
        return generation_policy.newest_good(self, exclude)
