"""The server's own repair: when no index generation is usable because their files were
damaged (e.g. a file that several generations share by hard link, truncated in place),
it queues one full rebuild, as `POST /api/reindex {"full": true}` would, instead of
answering 503 until an operator runs `build_index.py --full`."""

from __future__ import annotations

import logging

from service.indexing.job_runner import JobRunner

log = logging.getLogger(__name__)


def repair_cause(current: str) -> str:
    """The job's cause: one per damaged CURRENT, so every worker (and every request that
    finds the index unusable) names the same job, and a failed repair is not retried in
    a loop; a later generation found damaged gets a repair of its own."""
    return f"no usable index generation: {current} (CURRENT) and every older one failed " \
           f"verification"


class SelfRepair:
    """Called by `LiveIndex` with the unusable CURRENT; queues the full rebuild once,
    across every worker process, and returns the words health adds to its problem."""

    def __init__(self, runner: JobRunner, start_runner: bool = True) -> None:
        self.runner = runner
        self.start_runner = start_runner

    def __call__(self, current: str) -> str:
        job, created = self.runner.store.create_once("reindex", full=True,
                                                     cause=repair_cause(current))
        if created:
            log.error("no usable index generation (CURRENT is %s): queued full rebuild job %s",
                      current, job["id"])
        if self.start_runner:
            # a replacement worker meets the damage while warming up, before any request
            # has started its runner thread
            self.runner.ensure_started()
            self.runner.notify()
        return f"the server queued a full rebuild itself (job {job['id']}, see /api/v1/jobs)"
