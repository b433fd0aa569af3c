"""The document model every reader produces: pages of blocks, plus metadata."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

# Blocks on a page are joined with this separator to form the page text that chunk
# offsets point into. Readers never put it inside a block.
BLOCK_SEPARATOR = "\n\n"
# a cover may open with this many short lines above its title (classification, reference)
COVER_STAMPS = 3
STAMP_CHARS = 80


class ReadError(Exception):
    """A file could not be turned into text; the message is the one-line reason."""


@dataclass(frozen=True)
class Block:
    """A paragraph, list item, table row or heading. `heading_level` is None for body text."""

    text: str
    heading_level: int | None = None


# A word on a PDF page: its text and box (x0, top, x1, bottom) as fractions of the page's
# width and height, so a browser can draw on the page at any zoom.
WordBox = tuple[str, float, float, float, float]


@dataclass
class Page:
    number: int  # physical, 1-based
    blocks: list[Block]
    label: str | None = None  # printed page label, when the source has one
    ocr: bool = False  # the text was read from an image of the page by OCR
    words: list[WordBox] | None = None  # PDF pages only, in the order of `text`

    @property
    def text(self) -> str:
        return BLOCK_SEPARATOR.join(block.text for block in self.blocks)

    def block_offsets(self) -> list[tuple[int, int]]:
        """Character span of each block inside `text`."""
        spans, pos = [], 0
        for block in self.blocks:
            spans.append((pos, pos + len(block.text)))
            pos += len(block.text) + len(BLOCK_SEPARATOR)
        return spans


@dataclass
class DocumentMeta:
    """Metadata a reader found in the file itself (front matter, PDF info)."""

    title: str | None = None
    area: str | None = None
    source_url: str | None = None
    published: str | None = None
    publisher: str | None = None
    type: str | None = None  # plan, bulletin, case study, news item


@dataclass
class Document:
    path: str  # relative to the corpus directory, with forward slashes
    pages: list[Page]
    meta: DocumentMeta = field(default_factory=DocumentMeta)
    warnings: list[str] = field(default_factory=list)
    # kinds of code the file would run in a viewer ("javascript", "launch"): PDFs only
    active_content: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(page.text for page in self.pages)

    def first_heading(self) -> str | None:
        """A heading that opens the document, before any body text: one found after the
        first paragraph names a section, not the document."""
        for page in self.pages[:2]:
            for block in page.blocks:
                if block.heading_level is None:
                    return None
                if 3 <= len(block.text) <= 150 and ">" not in block.text:  # not a breadcrumb
                    return block.text
        return None

    def cover_title(self) -> str | None:
        """The first page's first heading, under at most a few short stamp lines
        ("Classification: Official", "Publication reference: PR2086"): the title a reader
        sees on the cover, for display. Leading every passage's indexed text with it made
        one publisher's documents too alike to rank (BENCHMARKS.md), so it is not indexed."""
        for position, block in enumerate(self.pages[0].blocks[:COVER_STAMPS + 1]
                                         if self.pages else []):
            if block.heading_level is not None:
                return block.text if 3 <= len(block.text) <= 150 else None
            if position == COVER_STAMPS or len(block.text) > STAMP_CHARS \
                    or block.text.rstrip().endswith("."):
                return None  # body text before any heading: the cover has no title
        return None

    def shown_title(self, indexed: str) -> str:
        """The title to show: the file's own, else its cover's, else the indexed one."""
        return self.meta.title or self.cover_title() or indexed


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for piece in iter(lambda: handle.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


def document_id(relative_path: str) -> str:
    """A stable, readable, URL-safe id derived from the corpus-relative path."""
    slug = re.sub(r"[^a-z0-9]+", "-", relative_path.lower()).strip("-") or "document"
    if len(slug) > 80:  # keep URLs short but ids unique
        slug = slug[:67] + "-" + hashlib.sha1(relative_path.encode("utf-8")).hexdigest()[:12]
    return slug
