"""Milvus Lite's engine is not safe for concurrent writes to one collection (an unlocked
sequence counter, a WAL file opened lazily without a lock), so the process hosting its
server makes every insert, upsert and delete take turns."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

pytest.importorskip("milvus_lite")

from service.store.milvus.connection import serialise_lite_writes  # noqa: E402


class Engine:
    """Stands in for milvus_lite's Collection: notes how many writes run at once."""

    running = most = 0
    guard = threading.Lock()

    def _write(self, *args: Any, **kwargs: Any) -> str:
        with Engine.guard:
            Engine.running += 1
            Engine.most = max(Engine.most, Engine.running)
        time.sleep(0.01)  # inside the engine's unlocked section
        with Engine.guard:
            Engine.running -= 1
        return "done"

    insert = upsert = delete = _write


def test_writes_to_milvus_lite_take_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("milvus_lite.engine.collection.Collection", Engine)
    serialise_lite_writes()
    serialise_lite_writes()  # a second server in the same process wraps nothing twice
    engine = Engine()
    calls = [engine.insert, engine.upsert, engine.delete] * 4
    threads = [threading.Thread(target=call, args=([{"key": "x"}],)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Engine.most == 1
    assert engine.insert([]) == "done" and Engine.insert.__name__ == "_write"


def test_the_real_engine_is_wrapped_once_a_lite_server_starts(tmp_path: Any) -> None:
    from milvus_lite.engine.collection import Collection

    from service.store.milvus.connection import lite_address, stop_lite_server

    folder = str(tmp_path / "lite.db")
    lite_address(folder)
    try:
        assert getattr(Collection, "_plansearch_serialised", False)
    finally:
        stop_lite_server(folder)
