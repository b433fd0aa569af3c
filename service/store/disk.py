"""Free space on the disk that holds the index (and its jobs, locks and rate-limit
counters), and telling a full disk apart from other write failures, in the words an
operator needs: how many bytes are left and where."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
SQLITE_IOERR, SQLITE_FULL = 10, 13  # primary result codes ("disk I/O error", "... full")
FULL = "index disk full"
# what a write refused for lack of space raises: the OS, SQLite, FAISS (RuntimeError),
# tantivy (ValueError "An IO error occurred: 'No space left on device (os error 28)'")
WRITE_ERRORS = (OSError, sqlite3.Error, RuntimeError, ValueError)
NO_SPACE = "No space left on device"
PROBE_BYTES = 4096  # one page: a disk that cannot take this cannot take a job row either


class DiskFull(OSError):
    """A write failed, or would fail, for lack of space where `folder` lives. An OSError
    with ENOSPC, so code that copes with the OS's own refusal copes with this too."""

    def __init__(self, folder: Path, message: str | None = None) -> None:
        self.folder = folder
        self.free = free_bytes(folder)
        self.message = message or full_message(self.free, "free some space in the index "
                                               "folder and try again; searches are still "
                                               "answered")
        super().__init__(errno.ENOSPC, self.message)

    def __str__(self) -> str:
        return self.message


def existing(folder: Path) -> Path:
    """`folder`, or its nearest existing parent: the disk a new folder would land on."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def free_bytes(folder: Path) -> int:
    """Bytes an unprivileged writer may still use on the disk holding `folder`."""
    stats = os.statvfs(existing(folder))
    return stats.f_bavail * stats.f_frsize


def full_message(free: int, advice: str, disk: str = "index disk") -> str:
    # no path: health is public, and the operator knows where PLANSEARCH_INDEX_DIR is
    return f"the {disk} is full ({free} bytes free); {advice}"


def build_full_message(folder: Path) -> str:
    """Why a build stopped for lack of space, in words for the job, report and health."""
    return full_message(free_bytes(folder), "free some space in the index folder, then run "
                        "the build again; the index being served is unchanged")


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` (or what it was raised from) is a write refused for lack of space:
    ENOSPC or a quota from the OS, SQLITE_FULL from SQLite, or the OS's message for it
    inside FAISS's and tantivy's errors."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in FULL_ERRNOS:
            return True
        if isinstance(seen, sqlite3.Error) and (
                getattr(seen, "sqlite_errorcode", None) == SQLITE_FULL
                or "database or disk is full" in str(seen)):
            return True
        if isinstance(seen, RuntimeError | ValueError) and NO_SPACE in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def refused_for_space(error: BaseException, folder: Path) -> bool:
    """is_disk_full, or SQLite's "disk I/O error" on a disk a small write finds full: in
    WAL mode that is how SQLite reports a full disk when it cannot grow its -shm file."""
    if is_disk_full(error):
        return True
    return (isinstance(error, sqlite3.OperationalError)
            and getattr(error, "sqlite_errorcode", 0) & 0xFF == SQLITE_IOERR
            and write_problem(folder) == FULL)


def check_room(folder: Path, needed: int, reserve: int) -> None:
    """DiskFull unless `needed` bytes fit on the disk holding `folder` with `reserve`
    bytes still free after them (room the next build needs)."""
    free = free_bytes(folder)
    if needed + reserve > free:
        upload = f"; the upload needs {needed}" if needed else ""
        raise DiskFull(folder, f"not enough disk space: {free} bytes free in "
                               f"{existing(folder)}, where {reserve} are kept free for index "
                               f"builds (PLANSEARCH_DISK_MIN_FREE_MB){upload}; nothing was "
                               "written")


def write_problem(folder: Path) -> str | None:
    """Why a small file cannot be written in `folder` now, or None when it can. Free
    space alone misses quotas, inodes and read-only mounts."""
    if not folder.is_dir():
        return None  # nothing built there yet: nothing to report about its disk
    probe = folder / f".disk-probe-{os.getpid()}-{threading.get_ident()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * PROBE_BYTES)
        finally:
            os.close(fd)
    except OSError as error:
        return FULL if error.errno in FULL_ERRNOS else \
            f"index disk cannot be written ({error.strerror})"
    finally:
        probe.unlink(missing_ok=True)
    return None


@dataclass(frozen=True)
class DiskState:
    """What health reports about the index disk."""

    free_bytes: int
    min_free_bytes: int
    problem: str | None  # FULL, another reason writes fail, or None

    def to_dict(self) -> dict[str, object]:
        return {"free_bytes": self.free_bytes, "min_free_bytes": self.min_free_bytes,
                "writable": self.problem is None, "problem": self.problem}


def disk_state(folder: Path, min_free_bytes: int) -> DiskState:
    """Free space on the index disk, and whether it is too little or refuses writes."""
    free = free_bytes(folder)
    problem = FULL if free < min_free_bytes else write_problem(folder)
    return DiskState(free, min_free_bytes, problem)


class ThrottledWarning:
    """A warning logged at most once per `interval_s`, with the number held back: a full
    disk fails every request, and one line a minute says so as well as thousands."""

    def __init__(self, logger: logging.Logger, interval_s: float = 60.0) -> None:
        self.logger, self.interval_s = logger, interval_s
        self._last = -interval_s
        self._held = 0
        self._lock = threading.Lock()

    def warn(self, message: str, *args: object) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.interval_s:
                self._held += 1
                return
            held, self._held, self._last = self._held, 0, now
        suffix = f" ({held} more since the last warning)" if held else ""
        self.logger.warning(message + suffix, *args)
