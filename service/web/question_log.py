"""Recording what is asked: each search, chat and compare column becomes a question-log
entry in the store (question, filters, verdict, cited chunk ids, timestamp; no address,
no identity), unless PLANSEARCH_QUESTION_LOG is off. Logging is best effort: a log the
store cannot write is warned about, and the answer still goes out. Entries older than
PLANSEARCH_QUESTION_LOG_DAYS are purged, at most once an hour per process."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask, current_app

from service.retrieval import Filters, Hit
from service.retrieval.compare import Column
from service.store import Store
from service.store.question_log import LoggedEntry, QuestionLogUnavailable

log = logging.getLogger(__name__)
PURGE_EVERY_S = 3600.0


def timestamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")


def filters_dict(filters: Filters) -> dict[str, Any]:
    """The filters that were set, as JSON lists: whatever fields `Filters` has (a date
    range as its two ISO dates, an open end as null)."""
    values = dataclasses.asdict(filters)
    return {name: plain(value) for name, value in values.items()
            if value not in ((), None, "", [])}


def plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    return value.isoformat() if isinstance(value, date) else value


class QuestionLogger:
    """This process's door to the store's question log."""

    def __init__(self, store: Store, enabled: bool, retention_days: int,
                 clock: Callable[[], float] = time.time) -> None:
        if int(retention_days) < 1:
            raise ValueError(f"PLANSEARCH_QUESTION_LOG_DAYS={retention_days!r} must be at "
                             "least 1")
        self.store, self.enabled = store, bool(enabled)
        self.retention_days, self.clock = int(retention_days), clock
        self._purged_at = float("-inf")
        self._sequence = itertools.count()
        self._lock = threading.Lock()

    def entry(self, kind: str, question: str, **values: Any) -> LoggedEntry:
        # ids sort in the order this process made them, so entries of one millisecond
        # (a compare's columns) come back in order; the random part keeps them unique
        number = f"{time.time_ns():020d}{next(self._sequence) % 1_000_000:06d}"
        return LoggedEntry(f"{number}-{uuid.uuid4().hex[:12]}", timestamp(self.clock()), kind,
                           question, **values)

    def record(self, entry: LoggedEntry) -> None:
        """Store one entry, best effort: a question is answered whether or not it is logged."""
        if not self.enabled:
            return
        try:
            self.store.question_log().add(entry)
            self.purge_now_and_then()
        except QuestionLogUnavailable as error:
            log.warning("question not logged: %s", error)

    def record_feedback(self, entry: LoggedEntry) -> None:
        """Store feedback; QuestionLogUnavailable (503) when the store refuses."""
        self.store.question_log().add(entry)
        self.purge_now_and_then()

    def purge_now_and_then(self) -> None:
        with self._lock:
            if self.clock() - self._purged_at < PURGE_EVERY_S:
                return
            self._purged_at = self.clock()
        self.purge()

    def purge(self) -> int:
        cutoff = self.clock() - timedelta(days=self.retention_days).total_seconds()
        return self.store.question_log().purge(timestamp(cutoff))

    def entries(self, days: int) -> list[LoggedEntry]:
        """The entries of the last `days` days, after purging those past retention."""
        self.purge()
        since = self.clock() - timedelta(days=days).total_seconds()
        return self.store.question_log().entries(timestamp(since))


def init_app(app: Flask) -> None:
    store = app.extensions["plansearch"].store
    app.extensions["plansearch_questions"] = QuestionLogger(
        store, app.config["QUESTION_LOG"], app.config["QUESTION_LOG_DAYS"])
    # the page offers "helpful / not helpful" only when feedback is kept
    app.context_processor(lambda: {"feedback_on": bool(app.config["QUESTION_LOG"])})


def logger() -> QuestionLogger:
    found: QuestionLogger = current_app.extensions["plansearch_questions"]
    return found


def cited(hits: Sequence[Hit], citations: Sequence[dict[str, Any]] | None = None
          ) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """The chunk ids and documents an answer cites (none when it quotes nothing), or
    for a search, which has no answer (`citations` None), every passage shown."""
    ranks = {c["rank"] for c in citations or () if "rank" in c}
    chosen = list(hits) if citations is None else [hit for hit in hits if hit.rank in ranks]
    chunks = tuple(dict.fromkeys(i for hit in chosen for i in hit.chunk_ids or (hit.chunk_id,)))
    return chunks, tuple(dict.fromkeys(hit.document.id for hit in chosen))


def record_search(kind: str, question: str, filters: Filters, verdict: str | None,
                  hits: Sequence[Hit], citations: Sequence[dict[str, Any]] | None = None
                  ) -> None:
    """Log one search or chat answer."""
    questions = logger()
    if questions.enabled:
        chunk_ids, documents = cited(hits, citations)
        questions.record(questions.entry(kind, question, filters=filters_dict(filters),
                                         verdict=verdict, chunk_ids=chunk_ids,
                                         documents=documents))


def record_columns(topic: str, filters: Filters, columns: Sequence[Column]) -> None:
    """Log a compare as one question per column ("urgent care in Dorset"), so a column
    the library can't answer shows up among the gaps."""
    for column in columns:
        narrowed = dataclasses.replace(filters, areas=(column.key,)) if column.kind == "area" \
            else dataclasses.replace(filters, documents=(column.key,))
        record_search("compare", f"{topic} in {column.title}", narrowed,
                      column.coverage.status, column.hits, column.answer.citations)
