"""`make eval`: every evaluation set in its own index and all of them in one, reported as
one table, with the coverage verdict cross-validated by document."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from service.embedding.models import Embedder
from service.evalsets.answer_fit import CANDIDATES, fold_scorers, load
from service.evalsets.folds import HELD_OUT, visible_misses
from service.evalsets.out_of_fold import ranking_with, run_set_out_of_fold
from service.evalsets.ranker_fit import WINDOWS, fold_rankers, load_windows
from service.evalsets.registry import UNION, all_sets
from service.evalsets.report import (
    SetResult,
    format_sets_table,
    held_out_totals,
    open_set,
    result_row,
    run_set,
)
from service.evalsets.verdict import (
    FitCalibration,
    format_verdict_table,
    shipped_separation,
    verdict_cross_validation,
)
from service.retrieval.search import SearchOptions

log = logging.getLogger(__name__)


def misses_text(result: SetResult) -> str:
    """The set's misses at rank 1, except those in the held-out fold, which stay unread."""
    shown, withheld = visible_misses(result.retrieval.misses, result.folds())
    lines = [f"Misses at rank 1 in {result.name} ({len(shown)} shown; {withheld} in the "
             "held-out fold are counted in the totals but never shown):"]
    for miss in shown:
        lines.append(f"  {miss['id']} rank={miss['rank']} {miss['question']!r} "
                     f"hint={miss['hint']!r}")
        lines += [f"      {line}" for line in miss["top"]]
    return "\n".join(lines)


def evaluate_all(root: Path, embedder: Embedder, fit: FitCalibration, store: str = "",
                 misses: bool = True, options: SearchOptions | None = None
                 ) -> tuple[str, dict[str, Any]]:
    """Ask every set in its own cached index and the union in one (with `options`, else
    the defaults); the report's text and its figures as JSON."""
    results, held_out = [], []
    learned = False
    # the learned ranker out of fold, fitted on the committed windows (fit_ranker.py)
    rankers = fold_rankers(load_windows(WINDOWS)) if WINDOWS.is_file() else None
    # and the learned answer scorer, fitted on the committed candidates (fit_answer_scorer.py)
    scorers = fold_scorers(load(CANDIDATES)) if CANDIDATES.is_file() else None
    for evaluation_set in all_sets(root):
        log.info("evaluating %s", evaluation_set.name)
        searcher = open_set(evaluation_set, root, embedder, store)
        searcher.options = options or searcher.options
        learned = rankers is not None and searcher.options.ranker == "learned"
        answering = scorers if searcher.options.answer_scorer == "learned" else None
        result = run_set_out_of_fold(evaluation_set, searcher, rankers if learned else None,
                                     answering) \
            if learned or answering else run_set(evaluation_set, searcher)
        results.append(result)
        if evaluation_set.name == UNION:
            with ranking_with(searcher, rankers[HELD_OUT] if rankers else searcher.learned,
                              answering[HELD_OUT] if answering else None):
                held_out.append(held_out_totals(result, searcher))
    rows = [result_row(r) for r in results] + held_out
    ranked_by = ("the learned ranker out of fold by document" if learned
                 else "the hand-set order") + (
        ", answers by the learned scorer out of fold" if scorers and options and
        options.answer_scorer == "learned" else "")
    crossed = verdict_cross_validation(results, fit)
    shipped = shipped_separation(results)
    parts = [
        format_sets_table(rows, "Every set in its own index, and the union (every set's "
                                "documents in one index); hybrid, as POST /api/search and "
                                f"/api/chat, {ranked_by}; flagged = weak or not_found"),
        format_verdict_table(shipped, "The coverage verdict as shipped (fitted on seed and "
                                      "plans-eval: in sample there)"),
        format_verdict_table(crossed.out_of_fold, "The coverage verdict refitted by "
                             "scripts/calibrate.py's fit, out of fold (by document)"),
        format_verdict_table(crossed.held_out, "The same, on the held-out fold (totals "
                             "only; fitted on every other fold)")]
    if misses:
        parts += [misses_text(r) for r in results if r.name == UNION]
    payload = {"sets": rows, "verdict_shipped": shipped,
               "verdict_out_of_fold": crossed.out_of_fold,
               "verdict_held_out": crossed.held_out}
    return "\n\n".join(parts), payload
