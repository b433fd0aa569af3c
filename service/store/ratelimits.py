"""Rate-limit counters in one SQLite file beside the index, registered with `limits` as
the `sqlite://` storage, so a limit is counted once per server rather than once per
gunicorn worker. The web layer decides what is limited; this only counts."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from limits.storage import Storage

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
