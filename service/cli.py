"""The build command's logic, shared by scripts/build_index.py and the tests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from service.build import BuildReport, build_index
from service.config import load_config
from service.embedding import ModelNotAvailable, SentenceTransformerEmbedder
from service.generations import BuildLocked


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


def run_build(corpus: Path | None, index: Path | None, model: str | None, full: bool,
              progress_bar: bool = True) -> tuple[int, dict[str, Any], str]:
    """Run one build; returns (exit status, JSON summary, human summary)."""
    config = load_config()
    corpus_dir = corpus or Path(config["CORPUS_DIR"])
    index_dir = index or Path(config["INDEX_DIR"])
    try:
        embedder = SentenceTransformerEmbedder(model or config["MODEL"],
                                               batch_size=config["ENCODE_BATCH"])
    except ModelNotAvailable as error:
        return 2, {"error": str(error)}, f"error: {error}"
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if not progress_bar:
            return
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr)
        bar.update(done - bar.n)

    try:
        report = build_index(corpus_dir, index_dir, embedder, full=full, progress=progress)
    except (BuildLocked, FileNotFoundError) as error:
        return 2, {"error": str(error)}, f"error: {error}"
    finally:
        if bar is not None:
            bar.close()
    return 0, report.summary(), format_report(report, index_dir)
