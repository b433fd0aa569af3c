"""Timing, percentiles, memory and machine facts shared by the benchmark sections."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from harness import percentile


def percentiles(values: Iterable[float]) -> dict[str, float]:
    """p50/p95/p99 and mean of a sample (milliseconds in, milliseconds out)."""
    data = list(values)
    if not data:
        return {"n": 0}
    p50, p95, p99 = (round(percentile(data, fraction), 3) for fraction in (0.5, 0.95, 0.99))
    return {"n": len(data), "p50": p50, "p95": p95, "p99": p99,
            "mean": round(float(np.mean(data)), 3)}


def proc_memory_mb(pid: int | None = None) -> dict[str, float]:
    """RSS and PSS (shared pages divided among the processes mapping them), in MB."""
    pid = pid or os.getpid()
    values: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss", "Shared_Clean", "Private_Dirty"):
                values[key.lower()] = round(int(rest.split()[0]) / 1024, 1)
    except OSError:
        pass
    return values


def peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def dir_size_mb(path: Path) -> float:
    """Disk used by the files below `path`, each hard-linked file counted once (index
    generations share their segments that way)."""
    sizes = {(s.st_dev, s.st_ino): s.st_size
             for s in (p.stat() for p in path.rglob("*") if p.is_file())}
    return round(sum(sizes.values()) / 1e6, 2)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("flags")), "")
    except OSError:
        flags = ""
    memory = 0.0
    try:
        memory = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        pass
    import sqlite3

    import faiss

    return {"nproc": os.cpu_count(), "cpu": cpu, "avx2": " avx2" in flags,
            "avx512": " avx512f" in flags, "ram_gib": round(memory, 1),
            "python": platform.python_version(), "faiss": faiss.__version__,
            "sqlite": sqlite3.sqlite_version, "load_average_at_start": load_average()}


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class Stopwatch:
    """Accumulates wall time, and CPU time (all threads of this process plus finished
    children, such as the sandboxed parsers), spent inside `with stopwatch:` blocks.
    CPU time hardly moves when other jobs share the cores, so ratios of CPU times are
    the steadier measure on a busy machine."""

    def __init__(self, cpu: bool = True) -> None:
        self.seconds = 0.0
        self.cpu = 0.0
        self.calls = 0
        self._with_cpu = cpu  # os.times() costs ~70 µs: too much around tiny calls

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        self._cpu = cpu_seconds() if self._with_cpu else 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds += time.perf_counter() - self._start
        if self._with_cpu:
            self.cpu += cpu_seconds() - self._cpu
        self.calls += 1


class TimedEmbedder:
    """Wraps an embedder and records the time spent encoding and counting tokens, so a
    build can be split into model time and everything else."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.encode = Stopwatch()
        self.tokenize = Stopwatch(cpu=False)
        self.texts = 0
        self.recorded: list[str] | None = None  # set to a list to keep every embedded text
        if hasattr(inner, "embed_with_sentences"):
            # the build only asks for sentence vectors when the embedder offers them
            self.embed_with_sentences = self._embed_with_sentences

    @property
    def dimension(self) -> int:
        return int(self.inner.dimension)

    @property
    def max_seq_length(self) -> int:
        return int(self.inner.max_seq_length)

    def count_tokens(self, text: str) -> int:
        with self.tokenize:
            return int(self.inner.count_tokens(text))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        with self.encode:
            vectors = self.inner.embed_documents(texts)
        self._count(texts)
        return vectors

    def _embed_with_sentences(self, texts: Sequence[str], spans: Any) -> Any:
        with self.encode:
            result = self.inner.embed_with_sentences(texts, spans)
        self._count(texts)
        return result

    def _count(self, texts: Sequence[str]) -> None:
        self.texts += len(texts)
        if self.recorded is not None:
            self.recorded.extend(texts)

    def embed_query(self, text: str) -> np.ndarray:
        with self.encode:
            return self.inner.embed_query(text)
