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

from service.indexing.builder import Event, child_command, parse_event, request
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


# build(full, on_event, on_start(pid), cancelled()) -> outcome
BuildFunction = Callable[[bool, Callable[[Event], None], Callable[[int], None],
                          Callable[[], bool]], BuildOutcome]
CANCEL_POLL_S = 1.0


class SubprocessBuild:
    """`python -m service.indexing` in a child process (see `protocol`), so a crash or
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
                                cancelled=bool(final.get("cancelled")))
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


class JobRunner:
    def __init__(self, store: JobStore, index_dir: Path, build: BuildFunction,
                 poll_s: float = 1.0) -> None:
        self.store = store
        self.index_dir = index_dir
        self.build = build
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._started_in: int | None = None
        self._start_lock = threading.Lock()

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
                except Exception:  # the runner must outlive any one bad batch
                    log.exception("job runner pass failed")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def run_pending(self) -> bool:
        """Run one batch of queued jobs if no other process is running one."""
        with runner_lock(self.index_dir) as held:
            if not held:
                return False
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
        result = self.build(full, progress.update, lambda pid: self.store.set_builder(batch, pid),
                            lambda: self.store.cancel_requested(batch))
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
        return True

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

    def _fail(self, jobs: list[dict[str, Any]], reason: str, retry: bool) -> None:
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


class Progress:
    """Documents read and chunks embedded, written to the batch's rows a few times a second."""

    def __init__(self, store: JobStore, batch: str, interval_s: float = 0.25) -> None:
        self.store, self.batch, self.interval_s = store, batch, interval_s
        self.values: dict[str, Any] = {"phase": "starting", "documents_done": 0,
                                       "documents_total": None, "chunks_done": 0,
                                       "chunks_total": None, "chunks_per_s": None,
                                       "eta_s": None}
        self._written = 0.0
        self._embedding_since: float | None = None

    def update(self, event: Event) -> None:
        kind, phase = event.get("event"), self.values["phase"]
        if kind == "documents":
            done, total = event.get("done"), event.get("total")
            # once every file is read, the builder loads the model and embeds
            stage = "reading" if done != total else "embedding" if total else "publishing"
            self.values.update(phase=stage,
                               documents_done=done, documents_total=total)
        elif kind == "chunks":
            done, total = event.get("done"), event.get("total")
            self.values.update(phase="publishing" if done == total else "embedding",
                               chunks_done=done, chunks_total=total)
            self._estimate(int(done or 0), int(total or 0))
        if self.values["phase"] == "embedding" and self._embedding_since is None:
            self._embedding_since = time.monotonic()  # the model load counts as embedding
        if self.values["phase"] != phase or time.monotonic() - self._written > self.interval_s:
            self.store.set_progress(self.batch, dict(self.values))
            self._written = time.monotonic()

    def _estimate(self, done: int, total: int) -> None:
        """Seconds left at the rate embedded so far (publishing is quick next to it)."""
        elapsed = time.monotonic() - (self._embedding_since or time.monotonic())
        if done and elapsed > 0:
            rate = done / elapsed
            self.values.update(chunks_per_s=round(rate, 1),
                               eta_s=round((total - done) / rate))

    def final(self) -> dict[str, Any]:
        values = dict(self.values, phase="done", eta_s=0)
        if values["documents_total"] is not None:
            values["documents_done"] = values["documents_total"]
        if values["chunks_total"] is None:
            values.update(chunks_done=0, chunks_total=0)
        return values


@contextmanager
def runner_lock(index_dir: Path) -> Iterator[bool]:
    """Non-blocking flock on jobs.lock; yields whether this process got it."""
    with exclusive(index_dir / RUNNER_LOCK) as fd:
        yield fd is not None


def outcome(job: dict[str, Any], summary: dict[str, Any]
            ) -> tuple[str, list[dict[str, Any]], list[dict[str, str]], str | None]:
    """(status, files, errors, message) of a job whose build finished with `summary`."""
    failed = {f["path"]: f["reason"] for f in summary.get("failed", [])}
    indexed = set(summary.get("added_paths", []) + summary.get("updated_paths", [])
                  + summary.get("unchanged_paths", []))
    if job["kind"] == "reindex":
        errors = [{"file": path, "reason": reason} for path, reason in sorted(failed.items())]
        return "succeeded", [], errors, None
    files, errors = [], []
    for entry in job["files"]:
        name = entry["name"]
        if job["kind"] == "upload" and name in failed:
            entry, reason = {**entry, "status": "failed", "reason": failed[name]}, failed[name]
        elif job["kind"] == "upload" and name not in indexed:
            reason = "the file was no longer in the corpus when the build ran"
            entry = {**entry, "status": "failed", "reason": reason}
        elif job["kind"] == "delete" and name in indexed:
            reason = "the file is back in the corpus, so the document stays indexed"
            entry = {**entry, "status": "failed", "reason": reason}
        else:
            entry, reason = {**entry, "status": "indexed" if job["kind"] == "upload"
                             else "removed"}, ""
            entry.pop("reason", None)
        files.append(entry)
        if reason:
            errors.append({"file": name, "reason": reason})
    if errors:
        return "failed", files, errors, f"{len(errors)} of {len(files)} file(s) failed"
    return "succeeded", files, errors, None
