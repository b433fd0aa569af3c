"""Rate-limit counters in one SQLite file beside the index, registered with `limits` as
the `sqlite://` storage, so a limit is counted once per server rather than once per
gunicorn worker. The web layer decides what is limited; this only counts. When the
file cannot be written (a full disk), the error goes up to flask-limiter, whose in-memory
fallback counts per worker until `check` finds the file writable again."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from limits.storage import Storage

from service.store.disk import ThrottledWarning

log = logging.getLogger(__name__)

COUNTERS = """
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, hits INTEGER NOT NULL,
                                     expires REAL NOT NULL)
"""

CHECK_KEY = "plansearch/storage-check"  # expired at once, so never counted against anyone


class SqliteStorage(Storage):
    """Fixed-window counters in one SQLite file that every worker process opens, so a
    limit is counted once per server rather than once per worker. Counters need no
    durability, so writes skip fsync; WAL keeps readers from waiting on writers."""

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = Path(uri.removeprefix("sqlite://"))
        self._local = threading.local()
        self._unwritable = ThrottledWarning(log)

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
        except BaseException as error:
            # SQLite has already rolled back after SQLITE_FULL: a second ROLLBACK would
            # hide "database or disk is full" behind "no transaction is active"
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                self._unwritable.warn("rate-limit counters in %s cannot be written (%s); "
                                      "counting in each worker's memory until they can",
                                      self.path, error)
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
        """Whether a counter can be written now. flask-limiter asks before it leaves its
        in-memory fallback, and a read succeeds on a full disk, so this writes."""
        try:
            self._conn().execute("INSERT INTO counters (key, hits, expires) VALUES (?, 0, 0) "
                                 "ON CONFLICT (key) DO UPDATE SET hits = 0", (CHECK_KEY,))
        except (sqlite3.Error, OSError):
            return False
        return True

    def reset(self) -> int | None:
        cleared: int = self._conn().execute("DELETE FROM counters").rowcount
        return cleared

    def clear(self, key: str) -> None:
        self._conn().execute("DELETE FROM counters WHERE key = ?", (key,))
