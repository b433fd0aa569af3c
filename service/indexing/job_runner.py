"""Running admin jobs: a background thread per server process claims every queued job
and runs one build for the whole batch, in a subprocess, so a crash or `kill -9` of the
builder never takes a server down. Only the process holding `<index>/jobs.lock` runs
builds, and the builder itself takes the build lock, so there is only ever one writer."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.indexing.build_process import Event, child_command, parse_event, request
from service.indexing.job_reports import Progress, outcome
from service.store.disk import (
    WRITE_ERRORS,
    DiskFull,
    ThrottledWarning,
    build_full_message,
    is_disk_full,
)
from service.store.generations import exclusive
from service.store.jobs import JobStore

log = logging.getLogger(__name__)

RUNNER_LOCK = "jobs.lock"
# the folder holding the `service` package, so the child imports the same code
PACKAGE_PARENT = Path(__file__).resolve().parents[2]
INTERRUPTED = ("interrupted: the builder stopped before finishing (crash, kill or server "
               "restart); the index is unchanged and a retry job indexes the files")


@dataclass
class BuildOutcome:
    summary: dict[str, Any] | None = None  # BuildReport.summary() when a build finished
    error: str | None = None
    locked: bool = False  # another builder (e.g. `make index` in a shell) holds the lock
    crashed: bool = False  # the builder died: worth one automatic retry
    cancelled: bool = False  # stopped on request; nothing was published
    disk_full: bool = False  # no room for the new generation: a retry would fail the same


# build(full, on_event, on_start(pid), cancelled()) -> outcome
BuildFunction = Callable[[bool, Callable[[Event], None], Callable[[int], None],
                          Callable[[], bool]], BuildOutcome]
CANCEL_POLL_S = 1.0


class SubprocessBuild:
    """`python -m service.indexing` in a child process (see `build_process`), so a crash or
    kill -9 of the builder never takes a server down."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = settings

    def command(self) -> list[str]:
        return child_command()

    def __call__(self, full: bool, on_event: Callable[[Event], None],
                 on_start: Callable[[int], None], cancelled: Callable[[], bool]
                 ) -> BuildOutcome:
        path = os.pathsep.join(p for p in (str(PACKAGE_PARENT), os.environ.get("PYTHONPATH"))
                               if p)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": path}
        final: Event = {}
        with tempfile.TemporaryFile("w+") as stderr, subprocess.Popen(
                self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                text=True, env=env) as process:
            on_start(process.pid)
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(request(self.settings, full))
                process.stdin.close()
            except BrokenPipeError:
                pass  # it died before reading its request: its exit status says how
            listening = threading.Event()  # set once the child has its SIGUSR1 handler
            threading.Thread(target=ask_to_stop, args=(process, listening, cancelled),
                             name="plansearch-cancel", daemon=True).start()
            for line in process.stdout:
                event = parse_event(line)
                if event.get("event") in {"summary", "error"}:
                    final = event
                elif event:
                    listening.set()
                    on_event(event)
            code = process.wait()
            stderr.seek(0)
            tail = " ".join(stderr.read()[-600:].split())
        if code < 0:
            return BuildOutcome(error=f"the builder was killed by {signal.Signals(-code).name}",
                                crashed=True)
        if final.get("event") == "summary" and code == 0:
            return BuildOutcome(summary={k: v for k, v in final.items() if k != "event"})
        if final.get("event") == "error":
            return BuildOutcome(error=final.get("message"), locked=bool(final.get("locked")),
                                cancelled=bool(final.get("cancelled")),
                                disk_full=bool(final.get("disk_full")))
        return BuildOutcome(error=f"the builder exited with status {code}: {tail}", crashed=True)


def ask_to_stop(process: subprocess.Popen[str], listening: threading.Event,
                cancelled: Callable[[], bool]) -> None:
    """Poll for a cancel request (it may arrive in any worker process, so it lives in the
    jobs database) and pass it to the builder, which stops at its next checkpoint."""
    while process.poll() is None:
        time.sleep(CANCEL_POLL_S)
        if listening.is_set() and process.poll() is None and cancelled():
            process.send_signal(signal.SIGUSR1)
            return


# (the finished jobs, the build's summary or None, succeeded/failed/cancelled, message)
BuildEnded = Callable[[list[dict[str, Any]], Mapping[str, Any] | None, str, str | None], None]


class JobRunner:
    def __init__(self, store: JobStore, index_dir: Path, build: BuildFunction,
                 poll_s: float = 1.0, on_build_end: BuildEnded | None = None) -> None:
        self.store = store
        self.on_build_end = on_build_end  # e.g. the webhook (service/indexing/webhook.py)
        self.index_dir = index_dir
        self.build = build
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._started_in: int | None = None
        self._start_lock = threading.Lock()
        # a build failure the full disk would not let us write down yet: (jobs, reason)
        self._unrecorded: tuple[list[dict[str, Any]], str] | None = None
        self._waiting_for_room = ThrottledWarning(log)

    def ensure_started(self) -> None:
        """Start the thread in this process; a forked gunicorn worker starts its own."""
        if self._started_in == os.getpid():
            return
        with self._start_lock:
            if self._started_in != os.getpid():
                self._wake = threading.Event()
                threading.Thread(target=self._loop, name="plansearch-jobs", daemon=True).start()
                self._started_in = os.getpid()

    def notify(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while True:
            # Polling catches jobs queued by other workers while this one held the lock,
            # and jobs left over from before a restart; a server that never had a job
            # (no jobs.sqlite) does nothing at all.
            if self.store.exists():
                try:
                    while self.run_pending():
                        pass
                except DiskFull as error:  # every poll fails alike until there is room
                    self._waiting_for_room.warn("queued jobs wait for disk space: %s", error)
                except Exception:  # the runner must outlive any one bad batch
                    log.exception("job runner pass failed")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def run_pending(self) -> bool:
        """Run one batch of queued jobs if no other process is running one."""
        with runner_lock(self.index_dir) as held:
            if not held:
                return False
            if self._unrecorded is not None:  # before they pass for interrupted
                self._fail(*self._unrecorded, retry=False)
            self.recover_interrupted()
            batch, jobs = self.store.claim_queued()
            if not jobs:
                return False
            return self._run_batch(batch, jobs)

    def recover_interrupted(self) -> None:
        """Jobs still marked running while we hold the runner lock lost their runner."""
        orphans = self.store.running()
        if orphans:
            self._fail(orphans, INTERRUPTED, retry=True)

    def _run_batch(self, batch: str, jobs: list[dict[str, Any]]) -> bool:
        full = any(job["full"] for job in jobs)
        progress = Progress(self.store, batch)
        log.info("running %d job(s) in one %s build", len(jobs), "full" if full else "incremental")
        try:
            result = self.build(full, progress.update,
                                lambda pid: self.store.set_builder(batch, pid),
                                lambda: self.store.cancel_requested(batch))
        except WRITE_ERRORS as error:  # an in-process builder raises what the child reports
            if not is_disk_full(error):
                raise
            result = BuildOutcome(error=build_full_message(self.index_dir), disk_full=True)
        if result.locked:
            self.store.requeue(batch)
            return False  # wait a poll interval for the other builder
        if result.cancelled:
            self._cancelled(jobs, progress)
            return True
        if result.summary is None:
            self._fail(jobs, result.error or "the build failed", retry=result.crashed)
            return True
        report = {k: v for k, v in result.summary.items() if k != "unchanged_paths"}
        for job in jobs:
            status, files, errors, message = outcome(job, result.summary)
            self.store.finish(job, status, files, errors, message, report, progress.final())
        self._announce(jobs, result.summary, "succeeded", None)
        return True

    def _announce(self, jobs: list[dict[str, Any]], summary: Mapping[str, Any] | None,
                  status: str, message: str | None) -> None:
        if self.on_build_end is not None:
            self.on_build_end([self.store.get(job["id"]) or job for job in jobs], summary,
                              status, message)

    def _cancelled(self, jobs: list[dict[str, Any]], progress: Progress) -> None:
        """The jobs asked to stop are cancelled; the rest of their batch runs again."""
        current = {job["id"]: job for job in (self.store.get(j["id"]) for j in jobs) if job}
        stopped = [job for job in current.values() if job["cancel_requested"]]
        for job in stopped:
            files = [{**f, "status": "cancelled"} for f in job["files"]]
            self.store.finish(job, "cancelled", files, [], "cancelled while running; the "
                              "live generation is unchanged", None,
                              {**progress.values, "phase": "cancelled", "eta_s": None})
        self.store.requeue_jobs([job_id for job_id, job in current.items()
                                 if not job["cancel_requested"]])
        log.info("build cancelled by job(s) %s", ", ".join(j["id"] for j in stopped))
        self._announce(stopped, None, "cancelled", "cancelled while running; the live "
                       "generation is unchanged")

    def _fail(self, jobs: list[dict[str, Any]], reason: str, retry: bool) -> None:
        try:
            self._record_failure(jobs, reason, retry)
        except DiskFull:
            self._unrecorded = (jobs, reason)
            log.warning("job(s) %s failed (%s), and the full disk refused to record it; "
                        "it is recorded once there is room", ", ".join(j["id"] for j in jobs),
                        reason)
            return
        self._unrecorded = None

    def _record_failure(self, jobs: list[dict[str, Any]], reason: str, retry: bool) -> None:
        message = reason
        if retry and not all(job["retry_of"] for job in jobs):
            # the files are in the corpus already; an incremental build picks them up
            again = self.store.create("reindex", full=any(job["full"] for job in jobs),
                                      retry_of=",".join(job["id"] for job in jobs))
            message = f"{reason}; retried by job {again['id']}"
        for job in jobs:
            files = [{**f, "status": "failed", "reason": reason} for f in job["files"]]
            self.store.finish(job, "failed", files, [{"file": f["name"], "reason": reason}
                                                     for f in job["files"]],
                              message, None, {**job["progress"], "phase": "failed"})
        log.warning("job(s) %s failed: %s", ", ".join(j["id"] for j in jobs), message)
        self._announce(jobs, None, "failed", message)


@contextmanager
def runner_lock(index_dir: Path) -> Iterator[bool]:
    """Non-blocking flock on jobs.lock; yields whether this process got it."""
    with exclusive(index_dir / RUNNER_LOCK) as fd:
        yield fd is not None
