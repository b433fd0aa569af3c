"""The one owner of the index. Everything else reads and writes it through a `Store`
(see `interface`); `open_store` picks the backend."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from service.config import load_config
from service.store.disk import DiskFull
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
    StoreUnavailable,
)

__all__ = [
    "LOAD_ERRORS", "BuildLocked", "ChunkBox", "ChunkRow", "DatabaseError", "DiskFull",
    "DocumentRecord", "EmbeddedStore",
    "FailureRecord", "IncompatibleIndex", "IndexNotReady", "IndexReader", "IndexWriter",
    "InvalidKeywordQuery", "KeywordQuery", "NewChunk", "PageRecord", "Ranked", "Store",
    "StoreUnavailable",
    "check_model", "open_store",
]


def open_store(index_dir: str | Path, settings: Mapping[str, Any] | None = None) -> Store:
    """The store for an index: the embedded one in `index_dir` when the STORE setting
    (of `settings`, else of the environment) is empty, else Milvus at that URL, with
    its build lock, jobs and rate limits still in `index_dir`."""
    settings = load_config() if settings is None else settings
    if not settings.get("STORE"):
        return EmbeddedStore(Path(index_dir))
    from service.store.milvus import MilvusStore  # pymilvus only when it is asked for

    return MilvusStore(Path(index_dir), settings["STORE"], settings.get("MILVUS_TOKEN", ""),
                       settings.get("MILVUS_PREFIX") or "plansearch")
