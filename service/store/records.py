"""The typed rows the store hands out and takes in. Nothing here is specific to one
backend: the embedded store and a distributed one both speak these types."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


class IndexNotReady(Exception):
    """No usable index generation exists."""


class StoreUnavailable(IndexNotReady):
    """The index's server can't be reached just now: answer 503 with Retry-After, and
    never mark a generation bad for it. The next call reconnects."""

    retry_after_s = 5


class IncompatibleIndex(Exception):
    """The index was built with a different model or format."""


class InvalidKeywordQuery(Exception):
    """The keyword engine could not parse the analysed query."""


class BuildLocked(Exception):
    """Another build holds the lock."""


@dataclass(frozen=True)
class DocumentRecord:
    id: str
    path: str  # relative to the corpus folder
    title: str
    area: str | None
    source_url: str | None
    published: str | None
    sha256: str
    size: int
    pages: int
    chunks: int
    indexed_at: str
    warnings: tuple[str, ...] = ()
    publisher: str | None = None  # as the document states it (front matter)
    doc_type: str | None = None  # plan, bulletin, case study, news item (front matter)
    # code the file would run in a viewer ("javascript", "launch"): flagged, not refused
    active_content: tuple[str, ...] = ()
    # the title the passages were embedded and keyword-indexed with; `title` is what
    # readers see: a cover's title is shown, never indexed (BENCHMARKS.md). None: `title`
    indexed_title: str | None = None

    @property
    def keyword_title(self) -> str:
        """The title the keyword text leads with."""
        return self.indexed_title or self.title

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["warnings"] = list(self.warnings)
        values["active_content"] = list(self.active_content)
        return values


@dataclass(frozen=True)
class PageRecord:
    number: int  # 1-based physical page
    label: str | None  # the printed page number, where it differs
    text: str


@dataclass(frozen=True)
class FailureRecord:
    """A corpus file that could not be read, kept so the same bytes aren't re-parsed."""

    path: str
    reason: str
    sha256: str
    failed_at: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason, "failed_at": self.failed_at}


@dataclass(frozen=True)
class ChunkPlace:
    """A chunk's text and where it sits in its document."""

    ordinal: int  # position in the document
    page_start: int
    page_end: int
    page_label: str | None
    section: str
    char_start: int  # offset into the text of page_start
    char_end: int  # offset into the text of page_end
    text: str


ChunkBox = tuple[int, float, float, float, float]


@dataclass(frozen=True)
class ChunkRow(ChunkPlace):
    """A stored chunk, as search reads it."""

    id: int
    doc_id: str
    ocr: bool = False  # some of the text was read by OCR from an image of the page


@dataclass(frozen=True)
class NewChunk(ChunkPlace):
    """A chunk to write: its text and place, its vector, and its sentences' vectors."""

    tokens: int
    vector: np.ndarray
    sentence_spans: list[tuple[int, int]] = field(default_factory=list)
    sentence_vectors: np.ndarray | None = None  # one row per span, when the embedder gives them
    ocr: bool = False
    # where it sits on its pages (PDFs): (page, x0, top, x1, bottom), fractions of the page
    boxes: list[ChunkBox] = field(default_factory=list)


Ranked = list[tuple[int, float]]  # (chunk id, score), best first
SentenceVectors = dict[int, tuple[list[tuple[int, int]], np.ndarray]]
