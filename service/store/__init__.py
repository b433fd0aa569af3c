"""The one owner of the index. Everything else reads and writes it through a `Store`
(see `interface`); `open_store` picks the backend."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from service.config import load_config
from service.store import vector_index
from service.store.disk import DiskFull
from service.store.embedded import EmbeddedStore
from service.store.generation_policy import GenerationWalk, build_base, serving_order
from service.store.interface import (
    GenerationUnreadable,
    IndexReader,
    IndexWriter,
    KeywordQuery,
    Store,
)
from service.store.layout import check_model
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
    "BuildLocked", "ChunkBox", "ChunkRow", "DiskFull", "DocumentRecord", "EmbeddedStore",
    "FailureRecord", "GenerationUnreadable", "GenerationWalk", "IncompatibleIndex",
    "IndexNotReady", "IndexReader", "IndexWriter", "InvalidKeywordQuery", "KeywordQuery",
    "NewChunk", "PageRecord", "Ranked", "Store", "StoreUnavailable",
    "build_base", "check_model", "open_store", "serving_order", "tune_for_serving",
]


def tune_for_serving() -> None:
    """Set the index libraries up for a server, which answers one query per request
    thread (the engines' own settings stay in their modules)."""
    vector_index.one_query_per_thread()


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
