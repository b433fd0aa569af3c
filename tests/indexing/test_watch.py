"""The watched corpus folder (issue 27): the debounce that keeps a half-copied file from
a build, what it reports, the real watchdog loop, and one watcher per index folder."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from service.indexing.job_reports import outcome
from service.indexing.job_runner import BuildOutcome, JobRunner
from service.indexing.watch import (
    WATCH_LOCK,
    Change,
    FolderWatcher,
    Settling,
    baseline_from_index,
    changes_between,
    corpus_stats,
    not_yet_built,
    queue_build,
    watch_while_holding_lock,
)
from service.store.generations import exclusive
from service.store.jobs import JobStore


def test_a_file_still_growing_waits_for_the_quiet_period() -> None:
    settling = Settling({}, quiet_s=30)
    assert settling.observe({"a.pdf": (100, 1)}, now=0) == []  # the first half lands
    assert settling.observe({"a.pdf": (100, 1)}, now=10) == []  # a pause shorter than quiet
    assert settling.observe({"a.pdf": (250, 2)}, now=12) == []  # the second half restarts it
    assert settling.observe({"a.pdf": (250, 2)}, now=41.9) == []
    assert settling.observe({"a.pdf": (250, 2)}, now=42) == [Change("a.pdf", "added")]
    assert settling.observe({"a.pdf": (250, 2)}, now=100) == []  # reported once
    assert not settling.pending


def test_any_file_changing_holds_back_every_settled_one() -> None:
    """A build reads the whole folder, so one file still being copied holds back all."""
    settling = Settling({"old.pdf": (5, 1)}, quiet_s=30)
    settling.observe({"old.pdf": (5, 1), "done.pdf": (9, 1)}, now=0)
    settling.observe({"old.pdf": (5, 1), "done.pdf": (9, 1), "copying.pdf": (1, 2)}, now=20)
    assert settling.observe({"old.pdf": (5, 1), "done.pdf": (9, 1), "copying.pdf": (1, 2)},
                            now=35) == []
    assert settling.observe({"old.pdf": (5, 1), "done.pdf": (9, 1), "copying.pdf": (1, 2)},
                            now=50) == [Change("copying.pdf", "added"), Change("done.pdf", "added")]


def test_a_file_copied_in_and_deleted_before_it_settled_starts_nothing() -> None:
    settling = Settling({"a.pdf": (5, 1)}, quiet_s=30)
    settling.observe({"a.pdf": (5, 1), "tmp.pdf": (3, 1)}, now=0)
    assert settling.observe({"a.pdf": (5, 1)}, now=5) == []
    assert settling.observe({"a.pdf": (5, 1)}, now=500) == []


def test_a_failed_queue_is_retried_after_another_quiet_period() -> None:
    settling = Settling({}, quiet_s=30)
    settling.observe({"a.pdf": (5, 1)}, now=0)
    assert settling.observe({"a.pdf": (5, 1)}, now=30) == [Change("a.pdf", "added")]
    settling.retry({}, now=30)
    assert settling.observe({"a.pdf": (5, 1)}, now=59) == []
    assert settling.observe({"a.pdf": (5, 1)}, now=60) == [Change("a.pdf", "added")]


def test_a_watcher_whose_job_cannot_be_queued_lives_on(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """jobs.sqlite locked past its timeout, or a full disk: try again after the quiet
    period, never let the watcher's thread die."""
    queued: list[list[Change]] = []

    def queue(changes: list[Change]) -> None:
        if not queued and "database is locked" not in caplog.text:
            raise sqlite3.OperationalError("database is locked")
        queued.append(changes)

    watcher = FolderWatcher(tmp_path, 10, queue)
    settling = Settling(corpus_stats(tmp_path), 10)
    (tmp_path / "plan.txt").write_text("a plan")
    for now in (0, 10, 19, 20):
        watcher.look(settling, now)
    assert "could not queue a build for 1 corpus change(s)" in caplog.text
    assert queued == [[Change("plan.txt", "added")]]  # at 20: 10 s after the refusal


def test_changes_name_additions_edits_moves_and_deletions() -> None:
    before = {"a.pdf": (10, 1), "b.pdf": (20, 2), "c.pdf": (30, 3), "d.pdf": (40, 4)}
    after = {"a.pdf": (11, 5), "b.pdf": (20, 2), "plans/c.pdf": (30, 3), "e.pdf": (40, 9)}
    assert changes_between(before, after) == [
        Change("a.pdf", "changed"), Change("d.pdf", "removed"), Change("e.pdf", "added"),
        Change("plans/c.pdf", "moved", "c.pdf")]
    assert Change("plans/c.pdf", "moved", "c.pdf").as_job_file() == {
        "name": "plans/c.pdf", "change": "moved", "moved_from": "c.pdf"}
    assert Change("e.pdf", "added").as_job_file() == {"name": "e.pdf", "change": "added"}


def test_the_index_is_the_starting_point_when_there_is_one() -> None:
    """What changed while the server was stopped: the index holds kept.pdf (same size
    now), resized.pdf (10 bytes then) and gone.pdf, and bad.pdf failed to read."""
    current = {"kept.pdf": (5, 1), "resized.pdf": (12, 2), "bad.pdf": (3, 3),
               "new.pdf": (7, 4)}
    baseline = baseline_from_index(current, {"kept.pdf": (5, "k"), "resized.pdf": (10, "r"),
                                             "gone.pdf": (8, "g"), "bad.pdf": (None, "b")})
    assert changes_between(baseline, current) == [
        Change("gone.pdf", "removed"), Change("new.pdf", "added"),
        Change("resized.pdf", "changed")]
    assert changes_between(baseline_from_index(current, {p: (s, "x") for p, (s, _) in
                                                         current.items()}), current) == []


def test_the_watcher_sees_what_a_build_reads(tmp_path: Path) -> None:
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "a.txt").write_text("plan")
    (tmp_path / "README.md").write_text("about the corpus")  # housekeeping in the root
    (tmp_path / ".deleted").mkdir()
    (tmp_path / ".deleted" / "b.txt").write_text("deleted")
    (tmp_path / ".meta").mkdir()
    (tmp_path / "sources.yaml").write_text("sources: []\n")
    os.symlink("/etc/hostname", tmp_path / "link.txt")
    stat = (tmp_path / "plans" / "a.txt").stat()
    assert corpus_stats(tmp_path) == {"plans/a.txt": (4, stat.st_mtime_ns)}
    assert corpus_stats(tmp_path / "unmounted") == {}


@pytest.fixture
def watching(tmp_path: Path) -> Iterator[Callable[..., list[list[Change]]]]:
    """Start a real watcher (watchdog and the rescan) on tmp_path/corpus; returns the
    list each settled batch of changes is appended to."""
    stops: list[threading.Event] = []

    def start(quiet_s: float, rescan_s: float = 60.0, indexed: Any = None
              ) -> list[list[Change]]:
        settled: list[list[Change]] = []
        watcher = FolderWatcher(tmp_path / "corpus", quiet_s, settled.append, rescan_s,
                                indexed=indexed)
        stop = threading.Event()
        stops.append(stop)
        threading.Thread(target=watcher.run, args=(stop,), daemon=True).start()
        time.sleep(0.3)  # the observer is scheduled before the test writes anything
        return settled

    (tmp_path / "corpus").mkdir()
    yield start
    for stop in stops:
        stop.set()


def wait_until(condition: Callable[[], Any], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_file_written_in_two_parts_is_reported_once_whole(
        watching: Callable[..., list[list[Change]]], tmp_path: Path) -> None:
    settled = watching(quiet_s=1.5)
    target = tmp_path / "corpus" / "plan.pdf"
    with target.open("wb") as file:
        file.write(b"%PDF-1.4 first half")
        file.flush()
        time.sleep(1.0)  # longer than the watcher's tick (0.375 s), shorter than quiet
        assert settled == []
        file.write(b" second half")
    wait_until(lambda: settled)
    assert settled == [[Change("plan.pdf", "added")]]
    started = time.monotonic()
    target.unlink()
    wait_until(lambda: len(settled) == 2)
    assert settled[1] == [Change("plan.pdf", "removed")]
    assert time.monotonic() - started >= 1.5


def test_the_rescan_alone_finds_a_change(watching: Callable[..., list[list[Change]]],
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    """Where inotify reports nothing (a network share), the periodic rescan still sees it."""
    monkeypatch.setattr("service.indexing.watch.start_observer", lambda folder, wake: None)
    settled = watching(quiet_s=0.2, rescan_s=1.0)
    (tmp_path / "corpus" / "plan.txt").write_text("a plan")
    wait_until(lambda: settled, timeout=5)
    assert settled == [[Change("plan.txt", "added")]]


def test_files_saved_while_the_server_was_stopped_are_built(
        watching: Callable[..., list[list[Change]]], tmp_path: Path) -> None:
    (tmp_path / "corpus" / "indexed.txt").write_text("in the index")
    (tmp_path / "corpus" / "saved-meanwhile.txt").write_text("new")
    settled = watching(quiet_s=0.3, indexed=lambda: {"indexed.txt": (12, sha("in the index")),
                                                     "deleted.txt": (4, sha("gone"))})
    wait_until(lambda: settled, timeout=5)
    assert settled == [[Change("deleted.txt", "removed"), Change("saved-meanwhile.txt", "added")]]
    without_index = watching(quiet_s=0.3, indexed=lambda: None)
    time.sleep(1.0)
    assert without_index == []  # no index to compare with: only later changes count


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_what_the_index_already_holds_starts_no_build(tmp_path: Path) -> None:
    """An admin upload lands in the folder too; its own job built it already."""
    (tmp_path / "uploaded.txt").write_text("uploaded")
    (tmp_path / "edited.txt").write_text("edited since")
    indexed = {"uploaded.txt": (8, sha("uploaded")), "edited.txt": (12, sha("as indexed")),
               "deleted-by-admin.txt": (3, sha("old"))}
    changes = [Change("uploaded.txt", "added"), Change("edited.txt", "changed"),
               Change("deleted-by-admin.txt", "removed"), Change("gone.txt", "removed"),
               Change("new.txt", "added")]
    assert not_yet_built(tmp_path, changes, indexed) == [
        Change("edited.txt", "changed"), Change("deleted-by-admin.txt", "removed"),
        Change("new.txt", "added")]


def test_files_of_pending_uploads_and_deletes_are_left_to_their_jobs(tmp_path: Path) -> None:
    """Uploaded (or deleted) through the admin API while its own job waits: the folder's
    change is that job's, not a second build's."""

    class Runner(JobRunner):
        def ensure_started(self) -> None:  # the tests run no runner thread
            pass

    store = JobStore(tmp_path)
    runner = Runner(store, tmp_path, lambda *args: BuildOutcome())
    store.create("upload", [{"name": "uploaded.pdf"}])
    store.create("delete", [{"name": "deleted.pdf", "document_id": "deleted-pdf"}])
    queue_build(runner, [Change("uploaded.pdf", "added"), Change("deleted.pdf", "removed")])
    assert sorted(job["kind"] for job in store.recent()) == ["delete", "upload"]
    queue_build(runner, [Change("uploaded.pdf", "added"), Change("saved.pdf", "added")])
    [watch] = [job for job in store.recent() if job["kind"] == "watch"]
    assert (watch["kind"], watch["files"]) == (
        "watch", [{"name": "saved.pdf", "change": "added", "status": "queued"}])


def test_one_watcher_per_index_folder(tmp_path: Path) -> None:
    """Two server processes' threads: the one holding watch.lock watches; the other takes
    over only once it is released."""
    (tmp_path / "corpus").mkdir()
    ran: list[str] = []

    class Recording(FolderWatcher):
        def __init__(self, name: str) -> None:
            super().__init__(tmp_path / "corpus", 1.0, lambda changes: None)
            self.name = name

        def run(self, stop: threading.Event) -> None:
            ran.append(self.name)
            stop.wait()

    first, second = threading.Event(), threading.Event()
    threading.Thread(target=watch_while_holding_lock,
                     args=(tmp_path, Recording("first"), first), daemon=True).start()
    wait_until(lambda: ran == ["first"])
    threading.Thread(target=watch_while_holding_lock,
                     args=(tmp_path, Recording("second"), second, 0.1), daemon=True).start()
    time.sleep(0.5)
    assert ran == ["first"]
    with exclusive(tmp_path / WATCH_LOCK) as fd:
        assert fd is None  # held
    first.set()  # the first process stops (or dies): the lock is released
    wait_until(lambda: ran == ["first", "second"])
    second.set()


def test_a_watch_job_reports_each_changed_file() -> None:
    job = {"kind": "watch", "files": [
        {"name": "new.pdf", "change": "added"}, {"name": "bad.pdf", "change": "added"},
        {"name": "old.pdf", "change": "removed"}, {"name": "gone.pdf", "change": "added"}]}
    summary = {"added_paths": ["new.pdf"], "updated_paths": [], "unchanged_paths": ["x.pdf"],
               "failed": [{"path": "bad.pdf", "reason": "encrypted PDF"}]}
    assert outcome(job, summary) == ("failed", [
        {"name": "new.pdf", "change": "added", "status": "indexed"},
        {"name": "bad.pdf", "change": "added", "status": "failed", "reason": "encrypted PDF"},
        {"name": "old.pdf", "change": "removed", "status": "removed"},
        {"name": "gone.pdf", "change": "added", "status": "removed"}],
        [{"file": "bad.pdf", "reason": "encrypted PDF"}], "1 of 4 file(s) failed")
