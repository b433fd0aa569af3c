"""Parsing while encoding: documents are read on a thread while the model encodes the
ones already read; results keep corpus order, failures and cancellation still work."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from service.indexing.build import build_index
from service.indexing.documents import Document, ReadError
from service.indexing.progress import BuildCancelled
from service.indexing.sandbox import read_document_safely


def write_corpus(folder: Path, count: int) -> Path:
    folder.mkdir()
    for number in range(count):
        (folder / f"plan-{number:02d}.txt").write_text(
            f"# Plan {number}\n\nArea {number} opens urgent treatment centre {number}.\n")
    return folder


class RecordingEmbedder:
    """Wraps an embedder and notes which documents had been read when each encoding
    call started: with parsing beside encoding, some calls start before all are read."""

    def __init__(self, inner: Any, read: list[str]) -> None:
        self.inner, self.read = inner, read
        self.read_when_encoding: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_documents(self, texts: Any) -> Any:
        self.read_when_encoding.append(len(self.read))
        return self.inner.embed_documents(texts)


def slow_reader(read: list[str], delay: float = 0.05) -> Any:
    def reader(path: Path, relative: str) -> Document:
        time.sleep(delay)  # a slow parse, as a PDF's is
        read.append(relative)
        if "plan-03" in relative:
            raise ReadError("corrupt PDF content (a test's damage)")
        return read_document_safely(path, relative)
    return reader


def test_encoding_starts_before_the_last_document_is_read(tmp_path: Path,
                                                          fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", 12)
    read: list[str] = []
    embedder = RecordingEmbedder(fake_embedder, read)
    report = build_index(corpus, tmp_path / "index", embedder, read=slow_reader(read))
    # each file read once; with several readers they may finish out of corpus order,
    # but the build's results keep it
    assert sorted(read) == [f"plan-{n:02d}.txt" for n in range(12)]
    assert report.added == [f"plan-{n:02d}.txt" for n in range(12) if n != 3]
    assert report.failed == [{"path": "plan-03.txt",
                              "reason": "corrupt PDF content (a test's damage)"}]
    assert report.chunks == report.embedded_chunks == 11
    assert embedder.read_when_encoding[0] < 12  # overlapped: it did not wait for all


def test_cancelling_mid_read_stops_the_reader_and_publishes_nothing(
        tmp_path: Path, fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", 40)
    read: list[str] = []
    with pytest.raises(BuildCancelled):
        build_index(corpus, tmp_path / "index", fake_embedder, read=slow_reader(read, 0.02),
                    cancelled=lambda: len(read) >= 3)
    readers = [t for t in threading.enumerate() if t.name == "plansearch-reader"]
    for reader in readers:
        reader.join(timeout=60)  # it notices the stop before its next file
    assert not any(reader.is_alive() for reader in readers)
    assert len(read) < 40
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_an_error_on_the_reader_thread_fails_the_build(tmp_path: Path,
                                                       fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", 5)

    def broken(path: Path, relative: str) -> Document:
        raise MemoryError("the reader ran out of memory")

    with pytest.raises(MemoryError, match="ran out of memory"):
        build_index(corpus, tmp_path / "index", fake_embedder, read=broken)
    assert not (tmp_path / "index" / "CURRENT").exists()
