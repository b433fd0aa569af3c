"""The question log: what was asked (question, filters, verdict, cited passages) and the
"helpful / not helpful" feedback on answers, with a timestamp and nothing about who
asked. The embedded store keeps it in `<index>/questions.sqlite`, outside the
generations, so builds and pruning never drop it; every worker process writes it, each
write one short transaction (WAL: readers never wait for a writer)."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from service.store.disk import refused_for_space
from service.store.records import StoreUnavailable

DATABASE = "questions.sqlite"
KINDS = ("search", "chat", "compare", "feedback")
VERDICTS = ("answered", "weak", "not_found")
REASONS = ("wrong_passage", "not_in_library", "out_of_date", "other")
SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id TEXT PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, question TEXT NOT NULL,
    filters TEXT NOT NULL DEFAULT '{}', verdict TEXT, chunk_ids TEXT NOT NULL DEFAULT '[]',
    documents TEXT NOT NULL DEFAULT '[]', helpful INTEGER, reason TEXT
);
CREATE INDEX IF NOT EXISTS entries_by_time ON entries (at);
"""
COLUMNS = ("id", "at", "kind", "question", "filters", "verdict", "chunk_ids", "documents",
           "helpful", "reason")


class QuestionLogUnavailable(StoreUnavailable):
    """The question log could not be read or written (a full disk, a lock held past
    the timeout, an unreachable server). Searches go on without logging."""


@dataclass(frozen=True)
class LoggedEntry:
    """One question asked, or one piece of feedback. No address, no identity."""

    id: str
    at: str  # UTC, ISO 8601 to the millisecond: sorts as text
    kind: str  # one of KINDS
    question: str
    filters: dict[str, Any] = field(default_factory=dict)
    verdict: str | None = None  # one of VERDICTS
    chunk_ids: tuple[int, ...] = ()  # the passages the answer cited (or the feedback names)
    documents: tuple[str, ...] = ()  # their documents' ids
    helpful: bool | None = None  # feedback only
    reason: str | None = None  # feedback on an unhelpful answer: one of REASONS

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "kind": self.kind, "question": self.question,
                "filters": self.filters, "verdict": self.verdict,
                "chunk_ids": list(self.chunk_ids), "documents": list(self.documents),
                "helpful": self.helpful, "reason": self.reason}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> LoggedEntry:
        helpful = values.get("helpful")
        return cls(str(values["id"]), str(values["at"]), str(values["kind"]),
                   str(values["question"]), dict(values.get("filters") or {}),
                   values.get("verdict"), tuple(int(i) for i in values.get("chunk_ids") or ()),
                   tuple(str(d) for d in values.get("documents") or ()),
                   None if helpful is None else bool(helpful), values.get("reason"))


class QuestionLog(Protocol):
    """What every backend's question log does."""

    def add(self, entry: LoggedEntry) -> None: ...
    def entries(self, since: str) -> list[LoggedEntry]: ...  # at >= since, oldest first
    def purge(self, before: str) -> int: ...  # deletes at < before; how many went



def into_wal(conn: sqlite3.Connection, wait_s: float = 10.0) -> None:
    """Switch to WAL. SQLite answers "database is locked" at once, without its busy
    timeout, when another connection holds the file while the mode changes, as the
    first writers of a new log do (a clean-clone CI run lost a thread's entries so);
    so wait here as the timeout would."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class SqliteQuestionLog:
    """The embedded store's question log: one SQLite file beside the generations."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        self.path = self.index_dir / DATABASE
        self._local = threading.local()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, kept open: closing the last connection to a WAL
        database checkpoints it, about 20 ms an entry on a small server's disk. A forked
        worker makes its own; an error drops it, and the next call reconnects."""
        held = getattr(self._local, "conn", None)
        conn: sqlite3.Connection | None = held[1] if held and held[0] == os.getpid() else None
        try:
            if conn is None:
                self.index_dir.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                       check_same_thread=False)
                # a lost last entry on power loss is acceptable for a log; an fsync on
                # every search is not
                conn.execute("PRAGMA synchronous=NORMAL")
                into_wal(conn)  # readers never wait for a writer
                conn.executescript(SCHEMA)
                self._local.conn = (os.getpid(), conn)
            yield conn
        except (sqlite3.Error, OSError) as error:
            self._local.conn = None
            if conn is not None:
                conn.close()
            raise self.unavailable(error) from error

    def unavailable(self, error: BaseException) -> QuestionLogUnavailable:
        why = "the index disk is full" if refused_for_space(error, self.index_dir) \
            else str(error)
        return QuestionLogUnavailable(f"the question log {self.path} cannot be used: {why}")

    def add(self, entry: LoggedEntry) -> None:
        values = entry.to_dict()
        for name in ("filters", "chunk_ids", "documents"):
            values[name] = json.dumps(values[name], default=str)
        if values["helpful"] is not None:
            values["helpful"] = int(values["helpful"])
        with self.connect() as conn:
            conn.execute(f"INSERT INTO entries ({', '.join(COLUMNS)}) VALUES "
                         f"({', '.join('?' * len(COLUMNS))})", [values[c] for c in COLUMNS])

    def entries(self, since: str) -> list[LoggedEntry]:
        if not self.path.exists():  # reading never creates the file
            return []
        with self.connect() as conn:
            cursor = conn.execute("SELECT * FROM entries WHERE at >= ? ORDER BY at, id",
                                  (since,))
            names = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
        found = []
        for row in rows:
            values = dict(zip(names, row, strict=True))
            for name in ("filters", "chunk_ids", "documents"):
                values[name] = json.loads(values[name])
            found.append(LoggedEntry.from_dict(values))
        return found

    def purge(self, before: str) -> int:
        if not self.path.exists():
            return 0
        with self.connect() as conn:
            removed: int = conn.execute("DELETE FROM entries WHERE at < ?", (before,)).rowcount
        return removed
