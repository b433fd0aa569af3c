"""The one owner of the index. Everything else reads and writes it through a `Store`
(see `interface`); `open_store` picks the backend."""

from __future__ import annotations

from pathlib import Path

from service.store.embedded import LOAD_ERRORS, EmbeddedStore
from service.store.interface import IndexReader, IndexWriter, KeywordQuery, Store
from service.store.layout import DatabaseError, check_model
from service.store.records import (
    BuildLocked,
    ChunkBox,
    ChunkRow,
    DocumentRecord,
    FailureRecord,
    IncompatibleIndex,
    IndexNotReady,
    InvalidKeywordQuery,
    NewChunk,
    PageRecord,
    Ranked,
)

__all__ = [
    "LOAD_ERRORS", "BuildLocked", "ChunkBox", "ChunkRow", "DatabaseError", "DocumentRecord",
    "EmbeddedStore",
    "FailureRecord", "IncompatibleIndex", "IndexNotReady", "IndexReader", "IndexWriter",
    "InvalidKeywordQuery", "KeywordQuery", "NewChunk", "PageRecord", "Ranked", "Store",
    "check_model", "open_store",
]


def open_store(index_dir: str | Path) -> Store:
    """The store for an index location: today always the embedded store in a folder."""
    return EmbeddedStore(Path(index_dir))
