"""`make sync`: bring the corpus's copies of the sources list's documents up to date.
New and changed documents land in the corpus atomically, with their provenance; a build
(`make index`, or the running service's folder watcher) then indexes them. The server
can also run it itself on a schedule (PLANSEARCH_SYNC_HOURS)."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from service.indexing.fetching import FetchFailed, Limits, Politeness, fetch
from service.indexing.sources import (
    SOURCES_FILE,
    Source,
    SourcesError,
    SyncState,
    default_name,
    load_sources,
    place,
    refresh_metadata,
    same_bytes,
)
from service.store.generations import exclusive

log = logging.getLogger(__name__)

SYNC_LOCK = "sync.lock"  # one scheduled sync per index folder, however many workers
SCRATCH = ".sync-downloads"  # hidden, in the corpus: the rename into place stays on one disk


@dataclass
class Synced:
    url: str
    status: str  # new, updated, unchanged or failed
    file: str | None = None  # relative to the corpus
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sync_sources(corpus_dir: Path, sources: list[Source], limits: Limits | None = None,
                 session: requests.Session | None = None,
                 on_done: Callable[[Synced], None] | None = None) -> list[Synced]:
    """Fetch every source in turn; each one's outcome, in the list's order."""
    limits = limits or Limits()
    politeness = Politeness(session or requests.Session(), limits)
    state = SyncState(corpus_dir)
    outcomes = []
    try:
        for source in sources:
            try:
                outcome = sync_one(corpus_dir, source, state, politeness, limits)
            except FetchFailed as error:
                outcome = Synced(source.url, "failed", reason=str(error))
            except OSError as error:  # the corpus disk refused the file
                outcome = Synced(source.url, "failed", reason=f"could not save it: {error}")
            state.save()
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome)
    finally:
        shutil.rmtree(corpus_dir / SCRATCH, ignore_errors=True)
    return outcomes


def sync_one(corpus_dir: Path, source: Source, state: SyncState, politeness: Politeness,
             limits: Limits) -> Synced:
    known = state.get(source.url)
    relative = source.file or known.get("file")
    held = relative is not None and (corpus_dir / relative).is_file()
    download = fetch(politeness, source.url, known if held else {}, limits,
                     corpus_dir / SCRATCH)
    if download.status == 304:
        assert relative is not None  # we sent validators only for a copy we hold
        state.entries[source.url] = {**known, "checked_at": now()}
        refresh_metadata(corpus_dir, relative, source, known)
        return Synced(source.url, "unchanged", relative)
    assert download.path is not None and download.kind is not None
    relative = relative or default_name(source.url, download.kind)
    target = corpus_dir / relative
    fetched_at = now()
    record = {"file": relative, "fetched_at": fetched_at, "checked_at": fetched_at,
              **{k: v for k, v in (("etag", download.etag),
                                   ("last_modified", download.last_modified),
                                   ("final_url", download.final_url)) if v}}
    if same_bytes(target, download.path):
        download.path.unlink()
        state.entries[source.url] = {**record, "fetched_at": known.get("fetched_at",
                                                                       fetched_at)}
        refresh_metadata(corpus_dir, relative, source, record)
        return Synced(source.url, "unchanged", relative)
    replaced = target.is_file()
    provenance = {**source.meta, "source_url": source.url, "fetched_at": fetched_at,
                  **({"etag": download.etag} if download.etag else {})}
    place(corpus_dir, relative, download.path, provenance)
    state.entries[source.url] = record
    log.info("%s %s -> %s", "updated" if replaced else "fetched", source.url, relative)
    return Synced(source.url, "updated" if replaced else "new", relative)


def scheduled_sync(corpus_dir: Path, limits: Limits | None = None) -> list[Synced]:
    """One run of the server's own schedule: what `make sync` does, into the log."""
    try:
        sources = load_sources(corpus_dir / SOURCES_FILE)
    except SourcesError as error:
        log.warning("scheduled sync skipped: %s", error)
        return []
    if not sources:
        return []
    outcomes = sync_sources(corpus_dir, sources, limits)
    for failed in (o for o in outcomes if o.status == "failed"):
        log.warning("scheduled sync: %s failed: %s", failed.url, failed.reason)
    log.info("scheduled sync of %d source(s): %s", len(outcomes), ", ".join(
        f"{sum(o.status == s for o in outcomes)} {s}"
        for s in ("new", "updated", "unchanged", "failed")))
    return outcomes


def sync_while_holding_lock(corpus_dir: Path, index_dir: Path, every_s: float,
                            stop: threading.Event, retry_s: float = 60.0,
                            limits: Limits | None = None) -> None:
    """Thread body for every server process: the one holding `<index>/sync.lock` syncs
    now and every `every_s`; the others try again every `retry_s`."""
    while not stop.is_set():
        with exclusive(index_dir / SYNC_LOCK) as fd:
            if fd is not None:
                while not stop.is_set():
                    scheduled_sync(corpus_dir, limits)
                    stop.wait(every_s)
                return
        stop.wait(retry_s)


def start_sync_schedule(corpus_dir: Path, index_dir: Path, hours: float) -> threading.Event:
    """Start this process's schedule thread (PLANSEARCH_SYNC_HOURS); set the event to stop."""
    stop = threading.Event()
    threading.Thread(target=sync_while_holding_lock,
                     args=(corpus_dir, index_dir, hours * 3600, stop),
                     name="plansearch-sync", daemon=True).start()
    return stop
