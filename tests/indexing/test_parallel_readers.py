"""Several files parsed at once while the encoder works (issue 27): the results still come
in file order, no more than `readers` reads run together, and a reader's crash reaches
the build. The reads are stand-ins (this is about the pipeline's scheduling); real reads
through the sandbox are covered by the build tests, which run with the default."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from service.indexing.corpus import CorpusFile
from service.indexing.pipeline import read_and_embed, reader_count
from service.indexing.progress import Checkpoints, ReadResult
from service.store import FailureRecord


def corpus_files(count: int) -> list[CorpusFile]:
    return [CorpusFile(Path(f"/nowhere/{i}.pdf"), f"{i}.pdf", f"{i:064d}", 1)
            for i in range(count)]


class SlowReads:
    """Reads that take longer for early files, so a parallel pool finishes out of order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = self.most = 0

    def __call__(self, file: CorpusFile) -> ReadResult:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05 if file.relative.startswith(("0", "1")) else 0.005)
        with self.lock:
            self.running -= 1
        return FailureRecord(file.relative, "stand-in", file.sha256, "2026-12-07T00:00:00Z")


@pytest.mark.parametrize("readers", [1, 3])
def test_results_come_in_file_order_with_at_most_readers_at_once(readers: int) -> None:
    reads, encoded = SlowReads(), []
    files = corpus_files(12)
    results, _ = read_and_embed(files, reads, lambda batch, told: encoded.extend(batch) or 0,
                                Checkpoints(None, None), readers=readers)
    assert [r.path for r in results if isinstance(r, FailureRecord)] == [f.relative for f in files]
    assert [r.path for r in encoded if isinstance(r, FailureRecord)] == [f.relative for f in files]
    assert reads.most == readers


def test_a_crashing_reader_stops_the_build_with_its_error() -> None:
    def read_one(file: CorpusFile) -> ReadResult:
        if file.relative == "4.pdf":
            raise RuntimeError("parser crashed on 4.pdf")
        return FailureRecord(file.relative, "stand-in", file.sha256, "2026-12-07T00:00:00Z")

    with pytest.raises(RuntimeError, match="4.pdf"):
        read_and_embed(corpus_files(9), read_one, lambda batch, told: 0,
                       Checkpoints(None, None), readers=2)


def test_zero_readers_means_one_per_two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert reader_count(0) == 8
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert reader_count(0) == 2
    assert reader_count(3) == 3
    monkeypatch.setenv("PLANSEARCH_BUILD_READERS", "2")
    assert reader_count() == 2
