"""Milvus Lite stores in tmp_path for the Milvus tests, each stopped when its test ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from service.store import open_store
from service.store.milvus import MilvusStore
from service.store.milvus.connection import stop_lite_server


def lite_url(root: Path) -> str:
    return f"milvus-lite://{root / 'plansearch.db'}"


@contextmanager
def lite_store(root: Path) -> Iterator[MilvusStore]:
    """A Milvus Lite store in `root` (its lock and jobs in root/index), served by this
    process until the block ends."""
    store = open_store(root / "index", {"STORE": lite_url(root)})
    assert isinstance(store, MilvusStore)
    try:
        yield store
    finally:
        store.link.drop()
        stop_lite_server(str(root / "plansearch.db"))
