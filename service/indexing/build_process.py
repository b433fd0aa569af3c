"""Running one build as a program, from a shell (scripts/build_index.py, with a progress
bar or --json) or as the admin jobs' builder subprocess, `python -m service.indexing`.

The subprocess protocol: the parent writes the build settings to the child's stdin as one
JSON object, and reads one JSON event per line from its stdout:

    {"event": "documents", "done": 0, "total": N}           once the change plan is made
    {"event": "documents", "done": i, "total": N, "path": p} after each file is read
    {"event": "chunks", "done": i, "total": M}              as chunks are embedded
    {"event": "summary", ...}                               the build's --json summary
    {"event": "error", "message": "...", "locked": bool, "cancelled": bool,
     "disk_full": bool}
                                                            or why it did not run

SIGUSR1 asks the child to stop at its next checkpoint (after a file or an embedding
slice of 256 chunks) without publishing; it then reports an error with "cancelled".
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from service.config import load_config
from service.embedding import ModelNotAvailable, make_embedder
from service.indexing.build import BuildReport, build_index
from service.indexing.progress import BuildCancelled, BuildProgress
from service.indexing.sandbox import ParseLimits, corpus_reader
from service.store import BuildLocked, open_store
from service.store.disk import WRITE_ERRORS, build_full_message, free_bytes, is_disk_full


def format_report(report: BuildReport, index_dir: Path) -> str:
    lines = [
        f"Index {index_dir} -> {report.generation}",
        f"  added {len(report.added)}, updated {len(report.updated)}, removed "
        f"{len(report.removed)}, unchanged {len(report.unchanged)}, failed {len(report.failed)}",
        f"  {report.chunks} chunks in the index; {report.embedded_chunks} embedded in "
        f"{report.seconds:.1f} s ({report.embedded_chunks / max(report.seconds, 1e-9):.1f} "
        "chunks/s)",
    ]
    if report.full_rebuild_reason:
        lines.append(f"  full rebuild: {report.full_rebuild_reason}")
    lines += [f"  FAILED {f['path']}: {f['reason']}" for f in report.failed]
    lines += [f"  warning: {w}" for w in report.warnings]
    return "\n".join(lines)


class ProgressBar:
    """Progress on stderr for a person at a terminal."""

    def __init__(self) -> None:
        self.bar: Any = None

    def planned(self, documents: int) -> None:
        pass

    def document_read(self, relative: str) -> None:
        pass

    def chunks_embedded(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_build(settings: Mapping[str, Any], full: bool = False,
              progress: BuildProgress | None = None,
              cancelled: Callable[[], bool] | None = None) -> tuple[int, dict[str, Any], str]:
    """Run one build with these settings (CORPUS_DIR, INDEX_DIR, MODEL, ENCODE_BATCH and
    the PARSE_* limits); returns (exit status, JSON summary, human summary)."""
    corpus_dir, index_dir = Path(settings["CORPUS_DIR"]), Path(settings["INDEX_DIR"])
    store = open_store(index_dir, settings)
    try:
        embedder = make_embedder(settings["EMBEDDER"], settings["MODEL"],
                                 batch_size=settings["ENCODE_BATCH"])
        read = corpus_reader(corpus_dir, ParseLimits.from_config(settings))
        report = build_index(corpus_dir, store, embedder, full=full, read=read,
                             progress=progress,
                             max_document_chunks=int(settings["MAX_DOCUMENT_CHUNKS"]),
                             cancelled=cancelled)
    except (BuildLocked, FileNotFoundError, ModelNotAvailable) as error:
        return 2, error_summary(error), f"error: {error}"
    except BuildCancelled as error:
        return 3, {"error": str(error), "cancelled": True}, f"cancelled: {error}"
    except WRITE_ERRORS as error:
        if not is_disk_full(error):
            raise
        # in words, not a traceback: the staging folder is gone, the live index unchanged
        message = build_full_message(index_dir)
        return 2, {"error": message, "disk_full": True,
                   "free_bytes": free_bytes(index_dir)}, f"error: {message}"
    return 0, report.summary(), format_report(report, index_dir)


def error_summary(error: Exception) -> dict[str, Any]:
    summary: dict[str, Any] = {"error": str(error)}
    if isinstance(error, BuildLocked):
        summary["locked"] = True  # the job runner waits and retries rather than failing
    return summary


# --- the builder subprocess -------------------------------------------------------
Event = dict[str, Any]
# the settings a build reads; nothing else crosses into the child
BUILD_SETTINGS = ("CORPUS_DIR", "INDEX_DIR", "MODEL", "EMBEDDER", "ENCODE_BATCH",
                  "PARSE_TIMEOUT_S", "PARSE_MEMORY_MB", "PARSE_MAX_PAGES", "MAX_DOCUMENT_CHUNKS",
                  "STORE", "MILVUS_TOKEN", "MILVUS_PREFIX")


def child_command() -> list[str]:
    return [sys.executable, "-m", "service.indexing"]


def request(settings: Mapping[str, Any], full: bool) -> str:
    """The one line the parent writes to the child's stdin."""
    # an embedder object (tests inject one) can't cross: the child uses the default
    wanted = {key: settings[key] for key in BUILD_SETTINGS
              if key in settings and isinstance(settings[key], str | int | float | Path)}
    return json.dumps({"settings": wanted, "full": full}, default=str) + "\n"


def parse_event(line: str) -> Event:
    try:
        event = json.loads(line)
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


class EventProgress:
    """The child's side: build progress as events."""

    def __init__(self, emit: Callable[[Event], None]) -> None:
        self.emit = emit
        self.total = 0
        self.done = 0

    def planned(self, documents: int) -> None:
        self.total = documents
        self.emit({"event": "documents", "done": 0, "total": documents})

    def document_read(self, relative: str) -> None:
        self.done += 1
        self.emit({"event": "documents", "done": self.done, "total": max(self.total, self.done),
                   "path": relative})

    def chunks_embedded(self, done: int, total: int) -> None:
        self.emit({"event": "chunks", "done": done, "total": total})


def final_event(summary: Mapping[str, Any]) -> Event:
    if "error" in summary:
        return {"event": "error", "message": summary["error"],
                "locked": summary.get("locked", False),
                "cancelled": summary.get("cancelled", False),
                "disk_full": summary.get("disk_full", False)}
    return {"event": "summary", **summary}


def main(stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """The child: read the request, build, print events."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    def emit(event: Event) -> None:
        print(json.dumps(event), file=stdout, flush=True)

    try:
        payload = json.loads(stdin.readline())
        # the defaults, then what the parent sent; never the child's own environment
        settings = load_config(payload["settings"], environ={})
        full = bool(payload.get("full"))
    except (ValueError, KeyError, TypeError) as error:
        emit({"event": "error", "message": f"bad build request: {error}", "locked": False})
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: stop.set())
    code, summary, _ = run_build(settings, full, EventProgress(emit), stop.is_set)
    emit(final_event(summary))
    return code
