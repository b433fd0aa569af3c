"""Reaching Milvus: the store URL, one lazily connected client per store, and telling a
lost connection (503, retry) from a damaged generation.

Milvus Lite keeps its data folder locked to one process. So the first Plansearch
process to open a `milvus-lite://` folder serves it to the others (gunicorn workers,
the builder) over gRPC on loopback, and writes its port beside the folder; when that
process dies, the next one to reconnect takes the folder over."""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from pymilvus import MilvusClient, MilvusException

from service.store.records import IndexNotReady, StoreUnavailable

log = logging.getLogger(__name__)

LITE_SCHEME = "milvus-lite://"
SERVER_SCHEME = "milvus://"
CALL_TIMEOUT_S = 30.0
PROBE_TIMEOUT_S = 3.0
# Lite servers this process runs, by data folder: (grpc server, database, port)
_lite_servers: dict[str, tuple[Any, Any, int]] = {}
_lite_lock = threading.Lock()


@dataclass(frozen=True)
class StoreURL:
    kind: str  # "lite" or "server"
    target: str  # the Lite data folder, or host:port

    @classmethod
    def parse(cls, url: str) -> StoreURL:
        if url.startswith(LITE_SCHEME):
            path = url[len(LITE_SCHEME):]
            if not path.startswith("/"):
                raise ValueError(f"PLANSEARCH_STORE={url!r}: a Milvus Lite path must be "
                                 f"absolute, as in milvus-lite:///srv/plansearch/plansearch.db")
            return cls("lite", path)
        if url.startswith(SERVER_SCHEME):
            address = url[len(SERVER_SCHEME):].rstrip("/")
            if not address:
                raise ValueError(f"PLANSEARCH_STORE={url!r}: give host:port, as in "
                                 f"milvus://milvus.internal:19530")
            return cls("server", address if ":" in address else f"{address}:19530")
        raise ValueError(f"PLANSEARCH_STORE={url!r} is neither milvus-lite:///path nor "
                         f"milvus://host:port")

    def __str__(self) -> str:
        return f"{LITE_SCHEME}{self.target}" if self.kind == "lite" else \
            f"{SERVER_SCHEME}{self.target}"


def skip_client_string_checks() -> None:
    """pymilvus 3.0 checks a row's VARCHAR values one character at a time (it iterates
    the string as if it were a list of strings): three quarters of a build's insert time,
    measured. Plansearch clips its strings to the byte limit itself (schema.clip), and
    the server checks lengths again, so the client-side check is switched off."""
    from pymilvus.client import entity_helper

    entity_helper.CHECK_STR_ARRAY = False  # type: ignore[attr-defined]


def port_file(folder: str) -> Path:
    return Path(f"{folder}.server")


def serialise_lite_writes() -> None:
    """Make Milvus Lite's writes take turns in the process that hosts its server.

    Milvus Lite 3.2's engine is not safe for two writes to one collection at once:
    `Collection.insert` hands out sequence numbers with an unlocked `+=`, and its WAL
    opens its file lazily without a lock. Two writers can then share sequence numbers,
    truncate each other's WAL file and leak a file handle. CI saw the leak with the
    question log's four concurrent writers. Its gRPC server answers on a thread pool,
    so every process's writes meet here, and one lock serialises them."""
    from milvus_lite.engine.collection import Collection

    if getattr(Collection, "_plansearch_serialised", False):
        return
    lock = threading.RLock()
    for name in ("insert", "upsert", "delete"):
        original = getattr(Collection, name)

        def serialised(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        setattr(Collection, name, functools.wraps(original)(serialised))
    Collection._plansearch_serialised = True  # type: ignore[attr-defined]


def lite_address(folder: str) -> str:
    """The gRPC address serving a Milvus Lite folder: this process's own server, a
    new one if the folder is free, else the one another process wrote down."""
    from milvus_lite import DataDirLockedError
    from milvus_lite.adapter.grpc.server import start_server_in_thread

    with _lite_lock:
        if folder in _lite_servers:
            return f"127.0.0.1:{_lite_servers[folder][2]}"
        Path(folder).parent.mkdir(parents=True, exist_ok=True)
        serialise_lite_writes()
        try:
            server, database, port = start_server_in_thread(folder, host="127.0.0.1", port=0)
        except DataDirLockedError:
            try:
                held = json.loads(port_file(folder).read_text())
            except (OSError, ValueError):
                raise StoreUnavailable(f"Milvus Lite at {folder} is being opened by another "
                                       f"process") from None
            return f"127.0.0.1:{int(held['port'])}"
        _lite_servers[folder] = (server, database, port)
        tmp = port_file(folder).with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "port": port}))
        os.replace(tmp, port_file(folder))
        log.info("serving Milvus Lite %s to other processes on 127.0.0.1:%d", folder, port)
        return f"127.0.0.1:{port}"


def stop_lite_server(folder: str) -> None:
    """Close this process's Lite server for `folder` (tests; a clean shutdown)."""
    with _lite_lock:
        entry = _lite_servers.pop(folder, None)
    if entry is not None:
        server, database, _ = entry
        server.stop(grace=0)
        database.close()


class Link:
    """One store's connection: made on first use (so nothing connects before gunicorn
    forks), dropped when a call finds Milvus unreachable, and remade by the next call.
    `epoch` counts connections, so readers know to load their collections again."""

    def __init__(self, url: StoreURL, token: str = "") -> None:
        self.url = url
        self.token = token
        self.epoch = 0
        self._client: MilvusClient | None = None
        self._lock = threading.Lock()

    def client(self) -> MilvusClient:
        with self._lock:
            if self._client is None:
                skip_client_string_checks()
                address = lite_address(self.url.target) if self.url.kind == "lite" else \
                    self.url.target
                try:
                    self._client = MilvusClient(uri=f"http://{address}", token=self.token,
                                                timeout=CALL_TIMEOUT_S)
                except MilvusException as error:
                    raise StoreUnavailable(f"cannot reach Milvus at {self.url}: "
                                           f"{error.message}") from None
                self.epoch += 1
            return self._client

    @property
    def waits_for_indexes(self) -> bool:
        """Whether creating an index should poll until it is built: a server builds in
        the background, Milvus Lite before it answers (and lacks the timestamp call that
        pymilvus's polling makes)."""
        return self.url.kind != "lite"

    def drop(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except MilvusException:
                pass  # already gone: closing is only tidying up

    def reachable(self) -> bool:
        """Whether Milvus answers now (connecting if need be)."""
        try:
            self.client().get_server_version(timeout=PROBE_TIMEOUT_S)
        except (StoreUnavailable, MilvusException, grpc.RpcError):
            self.drop()
            return False
        return True

    @contextmanager
    def guard(self, what: str) -> Iterator[MilvusClient]:
        """The client, with Milvus errors turned into ours: StoreUnavailable when Milvus
        can't be reached (the caller answers 503 and a later call reconnects), else
        IndexNotReady naming `what` failed."""
        client = self.client()
        try:
            yield client
        except (MilvusException, grpc.RpcError) as error:
            message = getattr(error, "message", None) or str(error)
            if not self.reachable():
                raise StoreUnavailable(f"lost the connection to Milvus at {self.url} "
                                       f"({message}); retrying") from None
            raise IndexNotReady(f"{what}: {message}") from None

    def state(self) -> dict[str, Any]:
        """For health: which backend, and whether it answers (not where it is: health
        is public)."""
        return {"backend": "milvus-lite" if self.url.kind == "lite" else "milvus",
                "connected": self.reachable()}
