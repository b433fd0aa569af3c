"""A time budget for one request. The web layer starts a deadline when a request comes
in and checks it between the stages it controls; work past the budget stops with
`BudgetExceeded` (503 with Retry-After), so one expensive request can't hold a worker
thread for seconds while other clients queue behind it.

The deadline lives in a context variable, so code deeper down can check it without a
new parameter: `checkpoint("dense")` is a no-op when no deadline is set (the CLI, the
evaluation harness, tests that call the core directly).

`Slots` bounds how many expensive requests (chats) one process answers at once.

TODO(lead): Searcher.search (service/retrieval/search.py) should call
`budget.checkpoint(stage)` between its stages -- after embedding the query, after the
dense search, after the keyword search, after fusion and before reranking/highlighting
-- so a search that overruns stops inside, not only at the API's own checkpoints."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field


class BudgetExceeded(Exception):
    """The request ran past its time budget; answer 503 and ask the client to retry."""

    def __init__(self, stage: str, budget_s: float, retry_after_s: int) -> None:
        super().__init__(f"the request took longer than its {budget_s:g} s budget "
                         f"(stopped at: {stage}); retry in a few seconds, with a shorter "
                         "question or chat history if it keeps happening")
        self.stage = stage
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Deadline:
    budget_s: float
    started: float = field(default_factory=time.monotonic)

    @property
    def remaining_s(self) -> float:
        return self.budget_s - (time.monotonic() - self.started)

    def check(self, stage: str) -> None:
        if self.remaining_s < 0:
            # long enough for the queue that caused the overrun to drain
            raise BudgetExceeded(stage, self.budget_s, max(1, math.ceil(self.budget_s)))


_current: ContextVar[Deadline | None] = ContextVar("plansearch_deadline", default=None)


def start(budget_s: float) -> Token[Deadline | None]:
    """Start a deadline for the current context; budget_s <= 0 sets none (no limit).
    Pass the token to `end` when the request is over."""
    return _current.set(Deadline(budget_s) if budget_s > 0 else None)


def end(token: Token[Deadline | None]) -> None:
    _current.reset(token)


@contextmanager
def deadline(budget_s: float) -> Iterator[None]:
    """The same, for code outside a request (scripts, tests)."""
    token = start(budget_s)
    try:
        yield
    finally:
        end(token)


def checkpoint(stage: str) -> None:
    """Raise BudgetExceeded if the current request's deadline has passed."""
    current = _current.get()
    if current is not None:
        current.check(stage)


class ServerBusy(Exception):
    """Every slot for this kind of request is taken; answer 503 and ask for a retry."""

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Slots:
    """At most `count` expensive requests at once in this process; one more is refused
    at once rather than queued. A queued request would still hold a server thread, and
    with every thread held, cheap requests wait behind expensive ones."""

    def __init__(self, count: int, what: str) -> None:
        self.count, self.what = count, what
        self._free = threading.BoundedSemaphore(count) if count > 0 else None

    @contextmanager
    def hold(self) -> Iterator[None]:
        if self._free is None:  # no limit
            yield
            return
        if not self._free.acquire(blocking=False):
            raise ServerBusy(f"the server is already answering as many {self.what} as it "
                             f"takes at once ({self.count} per process); retry in a second")
        try:
            yield
        finally:
            self._free.release()
