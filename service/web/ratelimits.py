"""Rate-limit plumbing for an intranet service: one count across gunicorn's worker
processes (a SQLite counter file, registered with `limits` as the `sqlite://` storage),
X-Forwarded-For honoured only from trusted proxies, and the client identity a limit is
counted against (an API key when one is sent, else the client address)."""

from __future__ import annotations

import hashlib
import ipaddress
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from limits.storage import Storage
from werkzeug.middleware.proxy_fix import ProxyFix

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
COUNTERS = """
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, hits INTEGER NOT NULL,
                                     expires REAL NOT NULL)
"""


class SqliteStorage(Storage):
    """Fixed-window counters in one SQLite file that every worker process opens, so a
    limit is counted once per server rather than once per worker. Counters need no
    durability, so writes skip fsync; WAL keeps readers from waiting on writers."""

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = Path(uri.removeprefix("sqlite://"))
        self._local = threading.local()

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _conn(self) -> sqlite3.Connection:
        # one connection per thread: gunicorn's gthread workers serve from several
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(COUNTERS)
            self._local.conn = conn
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM counters WHERE key = ? AND expires <= ?", (key, now))
            conn.execute("INSERT INTO counters (key, hits, expires) VALUES (?, ?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET hits = hits + excluded.hits",
                         (key, amount, now + expiry))
            hits: int = conn.execute("SELECT hits FROM counters WHERE key = ?",
                                     (key,)).fetchone()[0]
            if hits == amount:  # a new window: a good moment to drop expired counters
                conn.execute("DELETE FROM counters WHERE expires <= ?", (now,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return hits

    def get(self, key: str) -> int:
        row = self._conn().execute("SELECT hits FROM counters WHERE key = ? AND expires > ?",
                                   (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._conn().execute("SELECT expires FROM counters WHERE key = ?",
                                   (key,)).fetchone()
        return float(row[0]) if row and row[0] > time.time() else time.time()

    def check(self) -> bool:
        try:
            self._conn().execute("SELECT 1")
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        cleared: int = self._conn().execute("DELETE FROM counters").rowcount
        return cleared

    def clear(self, key: str) -> None:
        self._conn().execute("DELETE FROM counters WHERE key = ?", (key,))


def parse_networks(text: str) -> tuple[Network, ...]:
    """'10.0.0.1, 10.0.1.0/24, ::1' -> networks; 'none' or '' -> none; a bad entry names
    itself."""
    networks = []
    if text.strip().lower() == "none":  # an empty environment variable means the default
        return ()
    for entry in (part.strip() for part in text.split(",")):
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(networks)


def address_in(address: str | None, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)


class TrustedProxyFix:
    """werkzeug's ProxyFix, applied only when the peer is one of our proxies: anyone else
    could write any X-Forwarded-For and get a fresh rate-limit budget each time."""

    def __init__(self, app: Callable[..., Any], proxies: tuple[Network, ...]) -> None:
        self.app, self.proxies = app, proxies
        self.fixed = ProxyFix(app, x_for=1)  # the address our proxy appended, the last one

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if address_in(environ.get("REMOTE_ADDR"), self.proxies):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)


def key_identity(token: str) -> str:
    """A rate-limit key for an API key that doesn't store the key itself."""
    return "key:" + hashlib.sha256(token.encode()).hexdigest()[:24]
