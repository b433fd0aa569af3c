"""What passes between a build's steps: the reader type, the result of reading one file,
the progress a build reports, and the checkpoints where a cancelled build stops.

A leaf: of `service.indexing` it imports only the document model at run time, so the
build, its pipeline and its limits can all import it without importing each other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from service.indexing.documents import Document
from service.store import FailureRecord, NewChunk

if TYPE_CHECKING:  # plain dataclasses, named here for the type checker only
    from service.indexing.chunking import Chunk
    from service.indexing.corpus import CorpusFile

# One file of the corpus (its path, and its path relative to the corpus) read into a
# Document; raises ReadError when the file can't be read.
DocumentReader = Callable[[Path, str], Document]


@dataclass
class ReadDocument:
    """A file read for the build; chunked and embedded later, in place."""

    file: CorpusFile
    document: Document
    title: str
    area: str | None
    chunks: list[Chunk] = field(default_factory=list)
    new_chunks: list[NewChunk] = field(default_factory=list)


# what reading one file gives the build: the document, or why it failed
ReadResult = ReadDocument | FailureRecord


class BuildProgress(Protocol):
    def planned(self, documents: int) -> None: ...
    def document_read(self, relative: str) -> None: ...
    def chunks_embedded(self, done: int, total: int) -> None: ...


class BuildCancelled(Exception):
    """The build was asked to stop; nothing was published."""


class Checkpoints:
    """Progress that also stops the build when it is cancelled: each report is a point
    where stopping loses nothing but the work so far."""

    def __init__(self, progress: BuildProgress | None, cancelled: Callable[[], bool] | None
                 ) -> None:
        self.progress, self.cancelled = progress, cancelled

    def check(self) -> None:
        """Raise BuildCancelled if the build has been asked to stop."""
        if self.cancelled is not None and self.cancelled():
            raise BuildCancelled("the build was cancelled; the live generation is unchanged")

    def planned(self, documents: int) -> None:
        if self.progress is not None:
            self.progress.planned(documents)

    def document_read(self, relative: str) -> None:
        if self.progress is not None:
            self.progress.document_read(relative)
        self.check()

    def chunks_embedded(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress.chunks_embedded(done, total)
        self.check()
