"""A time budget for one request. The web layer starts a deadline when a request comes
in and checks it between the stages it controls; work past the budget stops with
`BudgetExceeded` (503 with Retry-After), so one expensive request can't hold a worker
thread for seconds while other clients queue behind it.

The deadline lives in a context variable, so code deeper down can check it without a
new parameter: `checkpoint("dense")` is a no-op when no deadline is set (the CLI, the
evaluation harness, tests that call the core directly).

`Slots` bounds how many expensive requests (chats) one process answers at once, shared
fairly between clients.

TODO(lead): Searcher.search (service/retrieval/search.py) should call
`budget.checkpoint(stage)` between its stages -- after embedding the query, after the
dense search, after the keyword search, after fusion and before reranking/highlighting
-- so a search that overruns stops inside, not only at the API's own checkpoints."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
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
    """At most `count` expensive requests at once in this process, shared fairly between
    clients. A client alone may use every slot; once others ask too (within the last
    `window_s`), each may hold an equal share (at least one). A request over its
    client's share is refused at once rather than queued: a queued request would still
    hold a server thread, and with every thread held, cheap requests wait behind
    expensive ones. A request under its share waits up to `wait_s` when a slot it is
    owed is held over someone else's share: that holder can't renew, so the slot comes
    back soon (issue 23: one busy client made 82% of another's chats answer 503)."""

    def __init__(self, count: int, what: str, wait_s: float = 2.0, window_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.count, self.what = count, what
        self.wait_s, self.window_s, self.clock = wait_s, window_s, clock
        self._changed = threading.Condition()
        self._held: Counter[str] = Counter()  # client -> slots it holds
        self._waiting: Counter[str] = Counter()
        self._asked: dict[str, float] = {}  # client -> when it last asked

    def share(self, client: str) -> int:
        """The slots `client` may hold now. Call with the lock held."""
        cutoff = self.clock() - self.window_s
        self._asked = {c: t for c, t in self._asked.items() if t >= cutoff}
        clients = set(self._asked) | set(self._held) | set(self._waiting) | {client}
        return max(1, self.count // len(clients))

    def _busy(self) -> ServerBusy:
        return ServerBusy(f"the server is already answering as many {self.what} as it "
                          f"takes at once ({self.count} per process); retry in a second")

    def _take(self, client: str) -> None:
        """Take a slot for `client`, waiting for one it is owed; ServerBusy if none."""
        self._asked[client] = self.clock()
        share = self.share(client)
        if self._held[client] + self._waiting[client] >= share:
            if share == self.count:  # alone: every slot is its own
                raise self._busy()
            raise ServerBusy(f"this client already has its fair share of the {self.what} "
                             f"the server answers at once ({share} of {self.count} per "
                             "process) while other clients ask too; retry in a second")
        deadline = self.clock() + self.wait_s
        self._waiting[client] += 1
        try:
            while sum(self._held.values()) >= self.count:
                owed = any(held > share for held in self._held.values())
                remaining = deadline - self.clock()
                if not owed or remaining <= 0:
                    raise self._busy()
                self._changed.wait(remaining)
                share = self.share(client)
        finally:
            self._waiting[client] -= 1
            self._waiting += Counter()  # drop the zero count
        self._held[client] += 1

    @contextmanager
    def hold(self, client: str = "") -> Iterator[None]:
        """Hold one slot for `client` (a rate-limit identity) while the block runs."""
        if self.count <= 0:  # no limit
            yield
            return
        with self._changed:
            self._take(client)
        try:
            yield
        finally:
            with self._changed:
                self._held[client] -= 1
                self._held += Counter()
                self._changed.notify_all()


class Stopwatch:
    """Milliseconds per search stage, for the response's timings."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._start = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = round((now - self._start) * 1000, 3)
        self._start = now
