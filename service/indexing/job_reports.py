"""What a job reports: its progress while the build runs (documents read, chunks
embedded, the rate and the time left), and each file's outcome once it has finished."""

from __future__ import annotations

import time
from typing import Any

from service.indexing.build_process import Event
from service.store.jobs import JobStore


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


def outcome(job: dict[str, Any], summary: dict[str, Any]
            ) -> tuple[str, list[dict[str, Any]], list[dict[str, str]], str | None]:
    """(status, files, errors, message) of a job whose build finished with `summary`."""
    failed = {f["path"]: f["reason"] for f in summary.get("failed", [])}
    indexed = set(summary.get("added_paths", []) + summary.get("updated_paths", [])
                  + summary.get("unchanged_paths", []))
    if job["kind"] == "reindex":
        errors = [{"file": path, "reason": reason} for path, reason in sorted(failed.items())]
        return "succeeded", [], errors, None
    if job["kind"] == "watch":
        return watched_outcome(job, failed, indexed)
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


def watched_outcome(job: dict[str, Any], failed: dict[str, str], indexed: set[str]
                    ) -> tuple[str, list[dict[str, Any]], list[dict[str, str]], str | None]:
    """A watched folder's job: each changed file indexed, failed, or out of the index (it
    was deleted, or moved away, by the time the build ran)."""
    files, errors = [], []
    for entry in job["files"]:
        name = entry["name"]
        if name in failed:
            files.append({**entry, "status": "failed", "reason": failed[name]})
            errors.append({"file": name, "reason": failed[name]})
        else:
            files.append({**entry, "status": "indexed" if name in indexed else "removed"})
    if errors:
        return "failed", files, errors, f"{len(errors)} of {len(files)} file(s) failed"
    return "succeeded", files, errors, None
