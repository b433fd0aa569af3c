"""What /api/health reports: the index being served (or why none is), the disk it lives
on, and the last build job that failed. A full disk is `degraded`, never `down`: searches
go on, and only builds, uploads and rate counting need to write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app

from service.retrieval.live import LiveIndex
from service.store import IndexNotReady, StoreUnavailable
from service.store.disk import MIB, DiskState, disk_state
from service.web.errors import error_body


def index_disk() -> DiskState:
    return disk_state(Path(current_app.config["INDEX_DIR"]),
                      int(current_app.config["DISK_MIN_FREE_MB"]) * MIB)


def last_failed_build() -> dict[str, Any] | None:
    """The newest build job, when it failed, and why in words (no later build succeeded)."""
    failed = current_app.extensions["plansearch_jobs"].store.last_failed_build()
    if failed is None:
        return None
    return {"job_id": failed["id"], "kind": failed["kind"], "finished_at": failed["finished_at"],
            "reason": failed["message"]}


def health_report(index: LiveIndex) -> tuple[dict[str, Any], dict[str, str]]:
    """(the health payload, extra response headers). The fields before `disk` are the
    original contract: later ones are added, never renamed."""
    disk = index_disk()
    disk_problem = f"{disk.problem} ({disk.free_bytes} bytes free)" if disk.problem else None
    extra = {"disk": disk.to_dict(), "last_failed_build": last_failed_build()}
    try:
        searcher = index.checked_searcher()
    except IndexNotReady as error:  # health must answer even when nothing can be served
        retry = {"Retry-After": str(error.retry_after_s)} \
            if isinstance(error, StoreUnavailable) else {}
        # the one error shape, beside the fields health has always answered with
        return {"status": "down", "problem": str(error), "model": index.embedder.name,
                "store": index.store.state(), **extra,
                "error": error_body(503, str(error), "store_unavailable" if retry else None)
                }, retry
    manifest = searcher.generation.manifest
    return {
        "status": "degraded" if index.problem or disk_problem else "ok",
        "problem": index.problem or disk_problem,
        "bad_generation": index.bad_generation,
        "documents": len(searcher.documents),
        "chunks": searcher.generation.chunk_count,
        "generation": searcher.generation.name,
        "model": manifest.get("model"),
        "built_at": manifest.get("built_at"),
        "store": index.store.state(),
        **extra,
    }, {}
