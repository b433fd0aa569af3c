"""Reading untrusted files: each one is parsed in a sandboxed child process (see
`service.indexing.sandbox`), so every failure, crash or runaway parse becomes a ReadError."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from service.config import load_config
from service.indexing.documents import Document
from service.indexing.sandbox import ParseLimits, parse_in_sandbox
from service.indexing.uploads import apply_sidecar

LINK_SCHEMES = {"http", "https"}


def read_document_safely(path: Path, relative: str, limits: ParseLimits | None = None) -> Document:
    """Read one file in a sandbox; limits default to the PLANSEARCH_PARSE_* settings."""
    document = parse_in_sandbox(path, relative, limits or ParseLimits.from_config(load_config()))
    return drop_unsafe_link(document)


def drop_unsafe_link(document: Document) -> Document:
    """Front matter may say `source_url: javascript:...`; pages link to it, so keep only
    http(s) addresses."""
    url = (document.meta.source_url or "").strip()
    if url and urlsplit(url).scheme.lower() not in LINK_SCHEMES:
        document.meta.source_url = None
        document.warnings.append(f"source_url ignored: only http and https links are kept "
                                 f"(got {url[:60]!r})")
    return document


def corpus_reader(corpus_dir: Path, limits: ParseLimits | None = None
                  ) -> Callable[[Path, str], Document]:
    """The build's reader: sandboxed, with upload metadata (`.meta/` sidecars) applied."""
    limits = limits or ParseLimits.from_config(load_config())

    def read(path: Path, relative: str) -> Document:
        return apply_sidecar(read_document_safely(path, relative, limits), corpus_dir, relative)

    return read
