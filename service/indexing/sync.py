"""`make sync`: bring the corpus's copies of the sources list's documents up to date.
New and changed documents land in the corpus atomically, with their provenance; a build
(`make index`, or the running service's folder watcher) then indexes them."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from service.indexing.fetching import FetchFailed, Limits, Politeness, fetch
from service.indexing.sources import (
    Source,
    SyncState,
    default_name,
    place,
    same_bytes,
)

log = logging.getLogger(__name__)

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
    session = session or requests.Session()
    politeness = Politeness(session, limits)
    state = SyncState(corpus_dir)
    outcomes = []
    try:
        for source in sources:
            try:
                outcome = sync_one(corpus_dir, source, state, politeness, session, limits)
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
             session: requests.Session, limits: Limits) -> Synced:
    known = state.get(source.url)
    relative = source.file or known.get("file")
    held = relative is not None and (corpus_dir / relative).is_file()
    politeness.check(source.url)
    politeness.wait_turn(source.url)
    download = fetch(session, source.url, known if held else {}, limits, corpus_dir / SCRATCH)
    if download.status == 304:
        assert relative is not None  # we sent validators only for a copy we hold
        state.entries[source.url] = {**known, "checked_at": now()}
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
        return Synced(source.url, "unchanged", relative)
    replaced = target.is_file()
    provenance = {**source.meta, "source_url": source.url, "fetched_at": fetched_at,
                  **({"etag": download.etag} if download.etag else {})}
    place(corpus_dir, relative, download.path, provenance)
    state.entries[source.url] = record
    log.info("%s %s -> %s", "updated" if replaced else "fetched", source.url, relative)
    return Synced(source.url, "updated" if replaced else "new", relative)
