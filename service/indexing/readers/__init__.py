"""Readers turn a file into a `Document`; `read_document` picks one by extension."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from service.indexing.documents import Document, ReadError
from service.indexing.formats import EXTENSIONS
from service.indexing.readers.docx import read_docx
from service.indexing.readers.html import read_html
from service.indexing.readers.pdf import read_pdf
from service.indexing.readers.text import read_text

Reader = Callable[[Path, str], Document]

BY_KIND: dict[str, Reader] = {"pdf": read_pdf, "docx": read_docx, "html": read_html,
                              "text": read_text}
READERS: dict[str, Reader] = {extension: BY_KIND[kind]
                              for kind, extensions in EXTENSIONS.items()
                              for extension in extensions}

SUPPORTED_EXTENSIONS = tuple(sorted(READERS))


def read_document(path: Path, relative_path: str) -> Document:
    """Read one file. Raises ReadError with a one-line reason on any unreadable input."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ReadError(
            f"unsupported file type {path.suffix or '(none)'!r}; "
            f"supported: {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    if path.stat().st_size == 0:
        raise ReadError("empty file (0 bytes)")
    document = reader(path, relative_path)
    if not any(block.text.strip() for page in document.pages for block in page.blocks):
        raise ReadError("no text found in the file")
    return document
