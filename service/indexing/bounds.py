"""Bounds on a build: the per-document chunk limit, and the checkpoints where a
cancelled build stops."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from service.indexing.chunking import ChunkSettings
from service.indexing.documents import Document

if TYPE_CHECKING:
    from service.indexing.build import BuildProgress

# MiniLM embeds about 40 chunks/s of 128 tokens on 2 idle cores: 20,000 is ~8 minutes
DEFAULT_MAX_DOCUMENT_CHUNKS = 20_000


class BuildCancelled(Exception):
    """The build was asked to stop; nothing was published."""


def chunk_limit_refusal(document: Document, settings: ChunkSettings,
                        max_chunks: int, chunks: int | None = None) -> str | None:
    """Why the document is too large to embed, or None. Without a chunk count, every
    word is at least one token, so the words alone refuse a huge file before it costs
    any tokenising."""
    if chunks is None:
        words = sum(len(page.text.split()) for page in document.pages)
        if words // settings.chunk_tokens <= max_chunks:
            return None
        found = f"at least {words // settings.chunk_tokens}"
    elif chunks <= max_chunks:
        return None
    else:
        found = str(chunks)
    return (f"too large to index: {found} chunks, more than the limit of {max_chunks} a "
            "document (PLANSEARCH_MAX_DOCUMENT_CHUNKS); split the file, or raise the limit "
            "and reindex with full=true")


class Checkpoints:
    """Progress that also stops the build when it is cancelled: each report is a point
    where stopping loses nothing but the work so far."""

    def __init__(self, progress: BuildProgress | None, cancelled: Callable[[], bool] | None
                 ) -> None:
        self.progress, self.cancelled = progress, cancelled

    def check(self) -> None:
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
