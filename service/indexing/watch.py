"""The watched corpus folder: while the service runs, files saved into, changed in, moved
within or deleted from the corpus start an incremental build, as an admin job, once the
folder has been quiet for a while.

A file still being copied changes its size or modification time; the folder counts as
quiet only when no file's size and modification time have changed for `quiet_s`, so a
half-copied file is never handed to a build. watchdog (inotify) wakes the watcher at once;
a rescan every `rescan_s` finds what inotify never sees (network shares). One watcher runs
per index folder, however many server processes there are (`<index>/watch.lock`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from service.indexing.corpus import corpus_paths
from service.indexing.documents import sha256_file
from service.indexing.job_runner import JobRunner
from service.store.generations import exclusive

log = logging.getLogger(__name__)

WATCH_LOCK = "watch.lock"
Stat = tuple[int, int]  # size in bytes, modification time in ns
Stats = dict[str, Stat]  # by path relative to the corpus


def corpus_stats(corpus_dir: Path) -> Stats:
    """Size and modification time of every file a build would read; a folder that has
    gone (an unmounted share) reads as empty."""
    stats: Stats = {}
    try:
        for path, relative in corpus_paths(corpus_dir):
            try:
                found = path.stat()
            except FileNotFoundError:
                continue  # deleted between the listing and the stat
            stats[relative] = (found.st_size, found.st_mtime_ns)
    except FileNotFoundError:
        return {}
    return stats


@dataclass(frozen=True)
class Change:
    name: str  # relative to the corpus
    change: str  # added, changed, removed or moved
    moved_from: str | None = None

    def as_job_file(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def changes_between(before: Stats, after: Stats) -> list[Change]:
    """What happened between two looks at the folder. A rename keeps a file's size and
    modification time, so a path that vanished while another appeared with exactly its
    stat is a move."""
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changes = [Change(p, "changed") for p in sorted(set(after) & set(before))
               if after[p] != before[p]]
    for name in added:
        origin = next((old for old in removed if before[old] == after[name]), None)
        if origin is not None:
            removed.remove(origin)
            changes.append(Change(name, "moved", origin))
        else:
            changes.append(Change(name, "added"))
    changes += [Change(p, "removed") for p in removed]
    return sorted(changes, key=lambda c: c.name)


class Settling:
    """Waits for the folder to hold still: nothing about `observe` reads a clock or a
    disk, so the debounce is tested on its own."""

    def __init__(self, baseline: Stats, quiet_s: float) -> None:
        self.baseline = baseline  # the folder as the last build was asked to see it
        self.seen = baseline
        self.quiet_s = quiet_s
        self.changed_at: float | None = None

    @property
    def pending(self) -> bool:
        return self.seen != self.baseline

    def observe(self, stats: Stats, now: float) -> list[Change]:
        """The changes to build, once nothing has changed for the quiet period; else []."""
        if stats != self.seen:
            self.seen, self.changed_at = stats, now
        if not self.pending or self.changed_at is None:
            return []  # e.g. a file copied in and deleted again before it settled
        if now - self.changed_at < self.quiet_s:
            return []
        changes = changes_between(self.baseline, stats)
        self.baseline = stats
        return changes

    def retry(self, baseline: Stats, now: float) -> None:
        """The build could not be queued: try again after another quiet period."""
        self.baseline, self.changed_at = baseline, now


# every path in the index: (its size, None for a file that failed to read, whose size the
# index does not keep; its SHA-256), or None when there is no index to compare with
IndexedFile = tuple[int | None, str]
Indexed = Callable[[], Mapping[str, IndexedFile] | None]


def baseline_from_index(current: Stats, indexed: Mapping[str, IndexedFile]) -> Stats:
    """The folder as the index last saw it, so what changed while the server was stopped
    is built too: a path the index lacks is added, one whose size differs is changed, one
    gone from the folder is removed. (A same-size edit made meanwhile waits for the next
    build.)"""
    baseline: Stats = {}
    for path, (size, _) in indexed.items():
        found = current.get(path)
        if found is not None and (size is None or found[0] == size):
            baseline[path] = found
        else:
            baseline[path] = (size or 0, -1)  # changed or gone: differs from any stat
    return baseline


class FolderWatcher:
    """The loop: look at the folder on an inotify event, every tick while a change is
    settling, and every `rescan_s` otherwise; hand settled changes to `on_settled`."""

    def __init__(self, corpus_dir: Path, quiet_s: float,
                 on_settled: Callable[[list[Change]], None], rescan_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 indexed: Indexed | None = None) -> None:
        self.corpus_dir, self.quiet_s, self.rescan_s = corpus_dir, quiet_s, rescan_s
        self.on_settled, self.clock, self.indexed = on_settled, clock, indexed
        self.tick_s = max(0.05, min(1.0, quiet_s / 4))
        self.woken = threading.Event()

    def starting_point(self) -> Stats:
        current = corpus_stats(self.corpus_dir)
        try:
            known = self.indexed() if self.indexed is not None else None
        except Exception:  # the index is unreadable: watch from here on, as without one
            log.exception("cannot compare the corpus folder with the index")
            known = None
        return current if known is None else baseline_from_index(current, known)

    def run(self, stop: threading.Event) -> None:
        settling = Settling(self.starting_point(), self.quiet_s)
        observer = start_observer(self.corpus_dir, self.woken.set)
        last_scan = self.clock()
        self.look(settling, last_scan)  # what changed while the server was stopped
        try:
            while not stop.is_set():
                woke = self.woken.wait(self.tick_s)
                self.woken.clear()
                now = self.clock()
                if woke or settling.pending or now - last_scan >= self.rescan_s:
                    last_scan = now
                    self.look(settling, now)
        finally:
            if observer is not None:
                observer.stop()
                observer.join(5)

    def look(self, settling: Settling, now: float) -> None:
        before = settling.baseline
        try:
            stats = corpus_stats(self.corpus_dir)
        except OSError as error:  # e.g. a folder that stopped being readable
            log.warning("cannot read the corpus folder %s: %s", self.corpus_dir, error)
            return
        changes = settling.observe(stats, now)
        if not changes:
            return
        try:
            if self.indexed is not None:
                changes = not_yet_built(self.corpus_dir, changes, self.indexed() or {})
            if changes:
                self.on_settled(changes)
        except Exception:  # a full disk, a locked jobs.sqlite: the watcher must live on
            log.exception("could not queue a build for %d corpus change(s); trying again "
                          "after the next quiet period", len(changes))
            settling.retry(before, now)


def not_yet_built(corpus_dir: Path, changes: list[Change],
                  indexed: Mapping[str, IndexedFile]) -> list[Change]:
    """Leave out what the live index already holds: an upload through the admin API lands
    in the folder too, and its own job builds it."""
    kept = []
    for change in changes:
        known = indexed.get(change.name)
        if change.change == "removed" or known is None:
            built = change.change == "removed" and known is None
        else:
            try:
                built = sha256_file(corpus_dir / change.name) == known[1]
            except FileNotFoundError:
                built = False  # gone again: let the build find out
        if not built:
            kept.append(change)
    return kept


def start_observer(corpus_dir: Path, wake: Callable[[], None]) -> Any:
    """A watchdog observer that wakes the loop on any event, or None (then the periodic
    rescan alone finds changes)."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    class Waker(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.event_type not in ("opened", "closed_no_write"):  # reads change nothing
                wake()

    observer = Observer()
    try:
        observer.schedule(Waker(), str(corpus_dir), recursive=True)
        observer.start()
    except OSError as error:  # no such folder yet, or the inotify watch limit is reached
        log.warning("watching %s by rescanning only: %s", corpus_dir, error)
        return None
    return observer


def queue_build(runner: JobRunner, changes: list[Change]) -> None:
    """One `watch` job for the settled changes, leaving out the files of uploads and
    deletes still waiting for their own build: the admin jobs' runner builds it."""
    pending = runner.store.pending_names()
    changes = [c for c in changes if c.name not in pending]
    if not changes:
        return
    job = runner.store.create("watch", [c.as_job_file() for c in changes])
    log.info("corpus changed (%s): queued build job %s",
             ", ".join(f"{c.change} {c.name}" for c in changes[:5])
             + (f" and {len(changes) - 5} more" if len(changes) > 5 else ""), job["id"])
    runner.ensure_started()
    runner.notify()


def watch_while_holding_lock(index_dir: Path, watcher: FolderWatcher,
                             stop: threading.Event, retry_s: float = 5.0) -> None:
    """Thread body for every server process: the one holding `<index>/watch.lock`
    watches; the others try again every `retry_s`, so one takes over if it dies."""
    while not stop.is_set():
        with exclusive(index_dir / WATCH_LOCK) as fd:
            if fd is not None:
                log.info("watching %s for new documents (quiet period %g s)",
                         watcher.corpus_dir, watcher.quiet_s)
                watcher.run(stop)
                return
        stop.wait(retry_s)


def start_watching(corpus_dir: Path, index_dir: Path, runner: JobRunner, quiet_s: float,
                   rescan_s: float, indexed: Indexed | None = None) -> threading.Event:
    """Start this process's watcher thread; setting the returned event stops it."""
    stop = threading.Event()
    watcher = FolderWatcher(corpus_dir, quiet_s, lambda changes: queue_build(runner, changes),
                            rescan_s, indexed=indexed)
    threading.Thread(target=watch_while_holding_lock, args=(index_dir, watcher, stop),
                     name="plansearch-watch", daemon=True).start()
    return stop
