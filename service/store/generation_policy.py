"""Which generation is good: the one walk, newest first, that a server uses to pick the
generation it serves, a build to pick the one it builds on, and pruning to pick the
fallbacks it keeps, on every backend. A generation marked bad is passed over; one whose
data turns out damaged is marked bad on the way, so no process tries it again; an
unreachable server stops the walk (no fault of any generation)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from service.store.interface import GenerationUnreadable, Store
from service.store.records import IncompatibleIndex, IndexNotReady, StoreUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class GenerationWalk(Generic[T]):
    """Tries generations in a given order with `attempt` (load, or verify), and keeps
    why the others failed. `damaged` stays true while every failure is the data's
    (which a rebuild repairs; another model or format is the configuration's fault)."""

    store: Store
    attempt: Callable[[str], T]
    failures: list[str] = field(default_factory=list)
    damaged: bool = True

    def good(self, names: Iterable[str]) -> Iterator[tuple[str, T]]:
        """(name, what `attempt` returned) for each good generation of `names`, lazily:
        a caller that wants one verifies only as far as the first good one."""
        for position, name in enumerate(names):
            bad = self.store.bad(name)
            if bad is not None:
                self.failures.append(f"{name}: {bad}")
                continue
            try:
                found = self.attempt(name)
            except StoreUnavailable:
                raise  # the server, not the generation: never mark it bad for this
            except IncompatibleIndex as error:
                self.failures.append(f"{name}: {error}")
                self.damaged = False
                if position == 0:
                    return  # an older generation would be just as incompatible
                continue
            except GenerationUnreadable as error:
                self.failures.append(f"{name}: {error}")
                self.damaged = False
                log.error("cannot load index generation %s: %s", name, error)
                continue
            except IndexNotReady as error:  # its data: no process should try it again
                self.failures.append(f"{name}: {error}")
                self.store.mark_bad(name, str(error))
                continue
            yield name, found


def verified(store: Store) -> Callable[[str], None]:
    """An `attempt` that verifies a generation as its store does, raising its problem."""
    def attempt(name: str) -> None:
        problem = store.problem(name)
        if problem is not None:
            raise IndexNotReady(problem)
    return attempt


def good_generations(store: Store, exclude: str | None = None) -> Iterator[str]:
    """Published generations, newest first, that are not marked bad and verify now; one
    that fails verification is marked bad on the way. Both backends' `newest_good` and
    `prune` walk this."""
    walk = GenerationWalk(store, verified(store))
    names = (name for name in store.published() if name != exclude)
    return (name for name, _ in walk.good(names))


def newest_good(store: Store, exclude: str | None = None) -> str | None:
    """The newest generation that verifies (marking bad the newer ones that don't)."""
    return next(good_generations(store, exclude), None)


def serving_order(store: Store, current: str, serving: str | None) -> Iterator[str]:
    """What a server tries to load: CURRENT, then the other published generations newest
    first, up to the one it already serves (nothing older is worth a swap)."""
    for name in [current] + [name for name in store.published() if name != current]:
        if name == serving:
            return
        yield name


def build_base(store: Store, current: str | None) -> tuple[str | None, str | None]:
    """(the generation to build on, what was wrong with the live one). A damaged live
    generation is marked bad; the newest good one replaces it as the base, and CURRENT
    moves only when the build publishes (or, with nothing to build, to that base)."""
    problem = store.problem(current) if current is not None else None
    if current is None or problem is None:
        return current, None
    if store.bad(current) is None:
        store.mark_bad(current, problem)
    older = store.newest_good(exclude=current)
    if older is None:
        return None, f"{problem}; no older generation loads, so everything was rebuilt"
    return older, f"{problem}; rolled back to {older} and rebuilt from it"
