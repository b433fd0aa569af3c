"""The build command's logic, shared by scripts/build_index.py and the tests."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.store import generations
from service.indexing.build import BuildReport, build_index
from service.config import load_config
from service.embedding.models import ModelNotAvailable, SentenceTransformerEmbedder
from service.store.generations import BuildLocked


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


def roll_back_damaged(index_dir: Path) -> tuple[str | None, bool]:
    """If the live generation is damaged, point CURRENT at the newest older one that
    loads, so an incremental build can start from it. Returns (what was done, whether
    only a full rebuild can help)."""
    from service.retrieval.live import generation_problem

    current = generations.current_generation(index_dir)
    problem = generation_problem(current) if current is not None else None
    if current is None or problem is None:
        return None, False
    with generations.build_lock(index_dir):
        number = generations.generation_number(current.name)
        for older in generations.published_generations(index_dir):
            if generations.generation_number(older.name) < number and \
                    generation_problem(older) is None:
                generations.point_to(index_dir, older)
                return f"{problem}; rolled back to {older.name} and rebuilt from it", False
    return f"{problem}; no older generation loads, so everything was rebuilt", True


def run_build(corpus: Path | None, index: Path | None, model: str | None, full: bool,
              progress_bar: bool = True, events: Callable[[dict[str, Any]], None] | None = None
              ) -> tuple[int, dict[str, Any], str]:
    """Run one build; returns (exit status, JSON summary, human summary). `events`, if
    given, receives progress as dicts (documents read, chunks embedded)."""
    from service.indexing.job_runner import BuildEvents
    from service.indexing.parsing import corpus_reader

    config = load_config()
    corpus_dir = corpus or Path(config["CORPUS_DIR"])
    index_dir = index or Path(config["INDEX_DIR"])
    try:
        repaired, needs_full = roll_back_damaged(index_dir)
        full = full or needs_full
        watcher = BuildEvents(events, corpus_dir, index_dir, full) if events else None
    except (BuildLocked, FileNotFoundError) as error:
        return 2, error_summary(error), f"error: {error}"
    try:
        embedder = SentenceTransformerEmbedder(model or config["MODEL"],
                                               batch_size=config["ENCODE_BATCH"])
    except ModelNotAvailable as error:
        return 2, {"error": str(error)}, f"error: {error}"
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if watcher is not None:
            watcher.chunks_embedded(done, total)
        if not progress_bar:
            return
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr)
        bar.update(done - bar.n)

    read = corpus_reader(corpus_dir, on_read=watcher.document_read if watcher else None)
    try:
        report = build_index(corpus_dir, index_dir, embedder, full=full, read=read,
                             progress=progress)
    except (BuildLocked, FileNotFoundError) as error:
        return 2, error_summary(error), f"error: {error}"
    finally:
        if bar is not None:
            bar.close()
    if repaired:
        report.warnings.insert(0, f"the live index was damaged: {repaired}")
    return 0, report.summary(), format_report(report, index_dir)


def error_summary(error: Exception) -> dict[str, Any]:
    summary: dict[str, Any] = {"error": str(error)}
    if isinstance(error, BuildLocked):
        summary["locked"] = True  # the job runner waits and retries rather than failing
    return summary
