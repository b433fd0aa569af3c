"""Cross-validation by document: every document of every set falls in one of FOLDS folds
or in the one held-out fold, by a hash of its file name, so the split is stable as sets
grow. Anything fitted is fitted on some folds and scored on another (out of fold); the
held-out fold is read only as totals, because looking at its misses would make it a
tuning fold."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

FOLDS = 5
HELD_OUT = -1  # the fold read only as totals

Item = TypeVar("Item")
Params = TypeVar("Params")
Outcome = TypeVar("Outcome")


class HeldOutMisses(Exception):
    """Raised when something asks to see the held-out fold's questions one by one."""


def fold_of(document: str, folds: int = FOLDS) -> int:
    """The document's fold (0..folds-1), or HELD_OUT; only its file name counts, so a
    document in two sets, or in another folder, is in the same fold everywhere."""
    bucket = int.from_bytes(hashlib.sha1(Path(document).name.encode()).digest()[:8], "big")
    bucket %= folds + 1
    return HELD_OUT if bucket == folds else bucket


def question_fold(relevant: Iterable[str], id: str, folds: int = FOLDS) -> int:
    """A question goes with the document that answers it (the first, when several do);
    a question nothing answers has no document, so its id decides."""
    documents = list(relevant)
    return fold_of(documents[0] if documents else f"unanswerable:{id}", folds)


def visible_misses(misses: list[dict[str, Any]], folds: dict[str, int]
                   ) -> tuple[list[dict[str, Any]], int]:
    """The misses that may be printed, and how many were withheld: a miss whose question
    is in the held-out fold is never shown."""
    shown = [m for m in misses if folds.get(m["id"]) != HELD_OUT]
    return shown, len(misses) - len(shown)


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold figures per set, and the held-out fold's totals per set: the held-out
    items themselves are never kept, so no caller can list them."""

    out_of_fold: dict[str, dict[str, float]]
    held_out: dict[str, dict[str, float]]

    def held_out_misses(self, name: str) -> list[object]:
        """Refused: the held-out fold is read as totals only."""
        raise HeldOutMisses(f"the held-out fold of {name!r} is reported only as totals")


def cross_validate(sets: dict[str, list[Item]], fold: Callable[[Item], int],
                   fit: Callable[[list[Item]], Params],
                   predict: Callable[[Params, Item], Outcome],
                   summarise: Callable[[list[tuple[Item, Outcome]]], dict[str, float]],
                   fit_on: Iterable[str] | None = None, folds: int = FOLDS
                   ) -> CrossValidation:
    """Fit on the training folds of the `fit_on` sets (default: all), predict each fold's
    items with parameters fitted without that fold, and summarise every set pooled over
    its folds; the held-out fold is predicted by a fit on every training fold."""
    training = [item for name in (fit_on or sets) for item in sets[name]
                if fold(item) != HELD_OUT]
    fitted = {f: fit([item for item in training if fold(item) != f]) for f in range(folds)}
    final = fit(training)
    out_of_fold, held_out = {}, {}
    for name, items in sets.items():
        inside = [(item, predict(fitted[fold(item)], item)) for item in items
                  if fold(item) != HELD_OUT]
        kept = [(item, predict(final, item)) for item in items if fold(item) == HELD_OUT]
        out_of_fold[name], held_out[name] = summarise(inside), summarise(kept)
    return CrossValidation(out_of_fold, held_out)
