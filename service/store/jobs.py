"""Admin jobs (upload, delete, reindex, and the watched folder's builds) in
`<index>/jobs.sqlite`: outside the generations, so they survive restarts and rebuilds,
and shared by every worker process. Reading never creates the file, so listing jobs works
on a full disk; a write the disk refuses raises DiskFull."""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.store.disk import DiskFull, refused_for_space

log = logging.getLogger(__name__)

DATABASE = "jobs.sqlite"
KINDS = ("upload", "delete", "reindex", "watch")  # watch: the corpus folder changed
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL,
    full INTEGER NOT NULL DEFAULT 0, files TEXT NOT NULL DEFAULT '[]',
    progress TEXT NOT NULL DEFAULT '{}', errors TEXT NOT NULL DEFAULT '[]',
    report TEXT, message TEXT, batch TEXT, builder_pid INTEGER, retry_of TEXT,
    created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0, cause TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_at);
"""
JSON_COLUMNS = ("files", "progress", "errors", "report")
UNREADABLE_ON_FULL_DISK = {10, 13, 14}  # SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN


class JobsUnwritable(OSError):
    """jobs.sqlite refused a write for a reason other than space (damaged, or locked past
    the timeout): an OSError, like DiskFull, so callers above the store that cope with
    the disk's refusals cope with this too, without naming SQLite."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class JobStore:
    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.path = index_dir / DATABASE
        self._ready = False  # created on first use: a server that never gets a job writes nothing

    def exists(self) -> bool:
        """Whether any job was ever recorded. An empty file is what a first write on a
        full disk leaves behind: SQLite creates the file before it can write a page."""
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per operation: cheap, and safe across request threads and forks.
        try:
            if not self._ready:
                self.index_dir.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except (sqlite3.Error, OSError) as error:
            if refused_for_space(error, self.index_dir):
                raise DiskFull(self.index_dir) from error
            raise
        try:
            conn.row_factory = sqlite3.Row
            if not self._ready:
                self._prepare(conn)
            yield conn
        except (sqlite3.Error, OSError) as error:
            if refused_for_space(error, self.index_dir):
                raise DiskFull(self.index_dir) from error
            raise
        finally:
            conn.close()

    def _prepare(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode=WAL")  # readers never wait for the runner
        conn.executescript(SCHEMA)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
        if "cancel_requested" not in columns:  # a jobs.sqlite from before cancelling
            conn.execute("ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL "
                         "DEFAULT 0")
        if "cause" not in columns:  # from before the server started repairs itself
            conn.execute("ALTER TABLE jobs ADD COLUMN cause TEXT")
        self._ready = True

    def create(self, kind: str, files: Sequence[dict[str, Any]] = (), full: bool = False,
               retry_of: str | None = None) -> dict[str, Any]:
        assert kind in KINDS
        job_id = uuid.uuid4().hex
        files = [{**f, "status": "queued"} for f in files]
        with self.connect() as conn:
            conn.execute("INSERT INTO jobs (id, kind, status, full, files, retry_of, created_at) "
                         "VALUES (?, ?, 'queued', ?, ?, ?, ?)",
                         (job_id, kind, int(full), json.dumps(files), retry_of, now()))
        job = self.get(job_id)
        assert job is not None
        return job

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """A read that works on a full disk too. There SQLite cannot make its -shm file
        ("disk I/O error"), so it reads the file as it stands (immutable: no -shm, no
        locks), which misses only a write in flight, and a full disk refuses those."""
        if not self.exists():
            return []
        try:
            with self.connect() as conn:
                return conn.execute(sql, params).fetchall()
        except (sqlite3.OperationalError, DiskFull) as error:
            code = getattr(error.__cause__ or error, "sqlite_errorcode", 0) & 0xFF
            if not isinstance(error, DiskFull) and code not in UNREADABLE_ON_FULL_DISK:
                raise
        conn = sqlite3.connect(self.path.resolve().as_uri() + "?immutable=1", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def create_once(self, kind: str, full: bool, cause: str) -> tuple[dict[str, Any], bool]:
        """The job started for `cause`, creating it unless one already exists (in any
        state: a repair that failed is not retried in a loop). (job, whether it is new).
        Every worker process may ask at once; the transaction lets exactly one create it."""
        assert kind in KINDS
        try:
            with self.connect() as conn:
                conn.execute("BEGIN IMMEDIATE")
                row = conn.execute("SELECT id FROM jobs WHERE cause = ? ORDER BY created_at "
                                   "LIMIT 1", (cause,)).fetchone()
                created = row is None
                job_id = uuid.uuid4().hex if created else row["id"]
                if created:
                    conn.execute("INSERT INTO jobs (id, kind, status, full, cause, "
                                 "created_at) VALUES (?, ?, 'queued', ?, ?, ?)",
                                 (job_id, kind, int(full), cause, now()))
                conn.execute("COMMIT")
            job = self.get(job_id)
        except sqlite3.DatabaseError as error:  # the server's self-repair calls this
            raise JobsUnwritable(str(error)) from error
        assert job is not None
        return job, created

    def get(self, job_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return job_dict(rows[0]) if rows else None

    def recent(self, limit: int = 20, before: tuple[str, str] | None = None
               ) -> list[dict[str, Any]]:
        """Newest first; `before` (created_at, id) starts after that job, for paging."""
        if before is None:
            return [job_dict(row) for row in self._rows(
                "SELECT * FROM jobs ORDER BY created_at DESC, id DESC LIMIT ?", (limit,))]
        return [job_dict(row) for row in self._rows(
            "SELECT * FROM jobs WHERE created_at < ? OR (created_at = ? AND id < ?) "
            "ORDER BY created_at DESC, id DESC LIMIT ?", (before[0], *before, limit))]

    def pending_upload(self, sha256: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """A queued or running upload of these exact bytes: (job, file entry)."""
        rows = self._rows("SELECT * FROM jobs WHERE kind = 'upload' AND status IN "
                          "('queued', 'running') ORDER BY created_at")
        for job in map(job_dict, rows):
            for entry in job["files"]:
                if entry.get("sha256") == sha256:
                    return job, entry
        return None

    def pending_names(self) -> set[str]:
        """The corpus paths that queued or running uploads and deletes are about: the
        watched folder sees those files come and go, and leaves them to their own jobs."""
        rows = self._rows("SELECT files FROM jobs WHERE kind IN ('upload', 'delete') AND "
                          "status IN ('queued', 'running')")
        return {entry["name"] for row in rows for entry in json.loads(row["files"])}

    def claim_queued(self) -> tuple[str, list[dict[str, Any]]]:
        """Mark every queued job running as one batch: they share one build."""
        batch = uuid.uuid4().hex
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE jobs SET status = 'running', batch = ?, started_at = ?, "
                         "progress = ? WHERE status = 'queued'",
                         (batch, now(), json.dumps({"phase": "starting"})))
            conn.execute("COMMIT")
            rows = conn.execute("SELECT * FROM jobs WHERE batch = ? ORDER BY created_at",
                                (batch,)).fetchall()
        return batch, [job_dict(row) for row in rows]

    def requeue(self, batch: str) -> None:
        """Put a batch back, e.g. when a build started from a shell holds the lock."""
        with self.connect() as conn:
            conn.execute("UPDATE jobs SET status = 'queued', batch = NULL, started_at = NULL, "
                         "builder_pid = NULL, progress = '{}' WHERE batch = ?", (batch,))

    def set_builder(self, batch: str, pid: int) -> None:
        with self.connect() as conn:
            conn.execute("UPDATE jobs SET builder_pid = ? WHERE batch = ?", (pid, batch))

    def set_progress(self, batch: str, progress: dict[str, Any]) -> None:
        with self.connect() as conn:
            conn.execute("UPDATE jobs SET progress = ? WHERE batch = ? AND status = 'running'",
                         (json.dumps(progress), batch))

    def cancel(self, job_id: str) -> str:
        """Cancel a queued job at once, or ask the build running a running one to stop.
        Returns the job's status afterwards ('cancelling' for a running job)."""
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE jobs SET status = 'cancelled', finished_at = ?, message = "
                         "'cancelled before it ran', progress = ? WHERE id = ? AND "
                         "status = 'queued'", (now(), json.dumps({"phase": "cancelled"}),
                                               job_id))
            conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND "
                         "status = 'running'", (job_id,))
            conn.execute("COMMIT")
            row = conn.execute("SELECT status, cancel_requested FROM jobs WHERE id = ?",
                               (job_id,)).fetchone()
        if row is None:
            return "missing"
        return "cancelling" if row["status"] == "running" else str(row["status"])

    def cancel_requested(self, batch: str) -> bool:
        """Whether a job of this running batch has been asked to stop."""
        with self.connect() as conn:
            row = conn.execute("SELECT 1 FROM jobs WHERE batch = ? AND status = 'running' AND "
                               "cancel_requested = 1 LIMIT 1", (batch,)).fetchone()
        return row is not None

    def requeue_jobs(self, job_ids: Sequence[str]) -> None:
        """Put jobs back in the queue, e.g. the rest of a batch whose build was cancelled."""
        with self.connect() as conn:
            conn.executemany("UPDATE jobs SET status = 'queued', batch = NULL, started_at = "
                             "NULL, builder_pid = NULL, progress = '{}' WHERE id = ?",
                             [(job_id,) for job_id in job_ids])

    def finish(self, job: dict[str, Any], status: str, files: list[dict[str, Any]],
               errors: list[dict[str, str]], message: str | None,
               report: dict[str, Any] | None, progress: dict[str, Any]) -> None:
        assert status in {"succeeded", "failed", "cancelled"}
        with self.connect() as conn:
            conn.execute("UPDATE jobs SET status = ?, files = ?, errors = ?, message = ?, "
                         "report = ?, progress = ?, finished_at = ? WHERE id = ?",
                         (status, json.dumps(files), json.dumps(errors), message,
                          json.dumps(report) if report is not None else None,
                          json.dumps(progress), now(), job["id"]))

    def running(self) -> list[dict[str, Any]]:
        return [job_dict(row) for row in self._rows("SELECT * FROM jobs WHERE status = "
                                                    "'running'")]

    def last_failed_build(self) -> dict[str, Any] | None:
        """The newest finished job, when its build failed (no report: the build itself,
        not one of its files), so a later successful build clears it."""
        try:
            rows = self._rows("SELECT * FROM jobs WHERE status IN ('succeeded', 'failed') "
                              "ORDER BY finished_at DESC LIMIT 1")
        except sqlite3.Error as error:  # health reports the disk; never a 500
            log.warning("cannot read the last build job from %s: %s", self.path, error)
            return None
        if not rows or rows[0]["status"] != "failed" or rows[0]["report"] is not None:
            return None
        return job_dict(rows[0])


def job_dict(row: sqlite3.Row) -> dict[str, Any]:
    values = dict(row)
    for column in JSON_COLUMNS:
        if values[column] is not None:
            values[column] = json.loads(values[column])
    values["full"] = bool(values["full"])
    values["cancel_requested"] = bool(values.get("cancel_requested"))
    del values["batch"]
    return values
