"""Index generations on disk: the CURRENT pointer, atomic publishing, the build lock,
and pruning. A generation is an immutable folder; publishing swaps one pointer file."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from service.store.records import BuildLocked

POINTER = "CURRENT"
LOCK = "build.lock"
BAD_SUFFIX = ".bad"  # gen-000007.bad beside gen-000007/: why it must not be served
# replaced whenever a generation is marked bad: one stat tells every worker that some
# generation was found damaged, without listing the folder on each request
BAD_STAMP = "bad.stamp"
GENERATION = re.compile(r"^gen-(\d{6})$")


def generation_name(number: int) -> str:
    return f"gen-{number:06d}"


def generation_number(name: str) -> int:
    match = GENERATION.match(name)
    if not match:
        raise ValueError(f"not a generation name: {name!r}")
    return int(match.group(1))


def current_generation(index_dir: Path) -> Path | None:
    """The published generation folder, or None when nothing has been published."""
    try:
        name = (index_dir / POINTER).read_text().strip()
    except FileNotFoundError:
        return None
    path = index_dir / name
    return path if GENERATION.match(name) and path.is_dir() else None


def pointer_signature(index_dir: Path) -> tuple[int, int] | None:
    """Cheap change detector for the pointer: one stat, no directory listing."""
    try:
        stat = os.stat(index_dir / POINTER)
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def bad_stamp_signature(index_dir: Path) -> tuple[int, int] | None:
    """Changes whenever any process marks a generation bad: one stat."""
    try:
        stat = os.stat(index_dir / BAD_STAMP)
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def published_generations(index_dir: Path) -> list[Path]:
    """Published generation folders, newest first."""
    if not index_dir.is_dir():
        return []
    found = [p for p in index_dir.iterdir() if p.is_dir() and GENERATION.match(p.name)]
    return sorted(found, key=lambda p: generation_number(p.name), reverse=True)


def next_generation_number(index_dir: Path) -> int:
    existing = published_generations(index_dir)
    return generation_number(existing[0].name) + 1 if existing else 1


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_tree(folder: Path) -> None:
    """fsync every file and folder below `folder` (hard-linked files that are already on
    disk cost next to nothing)."""
    for item in folder.iterdir():
        if item.is_dir():
            sync_tree(item)
        else:
            with item.open("rb") as handle:
                os.fsync(handle.fileno())
    fsync_dir(folder)


def publish(index_dir: Path, staging: Path, number: int) -> Path:
    """Move a finished staging folder into place and point CURRENT at it, atomically."""
    sync_tree(staging)
    final = index_dir / generation_name(number)
    os.rename(staging, final)
    tmp = index_dir / f"{POINTER}.tmp"
    with tmp.open("w") as handle:
        handle.write(final.name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / POINTER)  # the one atomic step readers ever see
    fsync_dir(index_dir)
    return final


def point_to(index_dir: Path, generation: Path) -> None:
    """Re-point CURRENT at an existing generation (used for rollback and repair)."""
    tmp = index_dir / f"{POINTER}.tmp"
    tmp.write_text(generation.name + "\n")
    os.replace(tmp, index_dir / POINTER)
    fsync_dir(index_dir)


def prune(index_dir: Path, keep: set[str]) -> list[str]:
    """Delete every generation not in `keep` (never the current one), their bad marks,
    and any staging folders that a crashed build left behind."""
    current = current_generation(index_dir)
    keep = keep | ({current.name} if current is not None else set())
    removed = []
    for path in published_generations(index_dir):
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    for path in index_dir.glob(f"gen-*{BAD_SUFFIX}"):
        if not (index_dir / path.name.removesuffix(BAD_SUFFIX)).is_dir():
            path.unlink(missing_ok=True)
    for path in index_dir.glob("staging-*"):
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def mark_bad(index_dir: Path, name: str, reason: str) -> None:
    """Record beside (not inside: published folders are never modified) a generation
    that it failed verification, so no process loads or builds on it again."""
    generation_number(name)  # a generation's name, never a path
    tmp = index_dir / f"{name}{BAD_SUFFIX}.{os.getpid()}.tmp"
    tmp.write_text(reason + "\n")
    os.replace(tmp, index_dir / f"{name}{BAD_SUFFIX}")
    stamp = index_dir / f"{BAD_STAMP}.{os.getpid()}.tmp"
    stamp.write_text(name + "\n")
    os.replace(stamp, index_dir / BAD_STAMP)  # a new inode: every worker's signature moves


def bad_reason(index_dir: Path, name: str) -> str | None:
    try:
        return (index_dir / f"{name}{BAD_SUFFIX}").read_text().strip() or "marked bad"
    except FileNotFoundError:
        return None


@contextmanager
def exclusive(path: Path) -> Iterator[int | None]:
    """A non-blocking flock on `path`: yields the open descriptor if this process got the
    lock, None if another holds it. The kernel releases it even after kill -9, so a
    crashed holder never leaves a stale lock behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            yield None
            return
        yield fd
    finally:
        os.close(fd)


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """One builder at a time; the holder's PID is written into the lock file."""
    with exclusive(index_dir / LOCK) as fd:
        if fd is None:
            try:
                holder = (index_dir / LOCK).read_text().strip() or "unknown"
            except OSError:
                holder = "unknown"
            raise BuildLocked(
                f"another build is running (PID {holder}); wait for it to finish, or stop it "
                f"and run the build again")
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
