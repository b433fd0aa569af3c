"""Bounded jobs: a document with more chunks than PLANSEARCH_MAX_DOCUMENT_CHUNKS fails
alone with a specific reason while the rest of the build goes on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.indexing.build import build_index

SMALL = "# Urgent care\n\nGloucestershire opens two urgent treatment centres.\n"


def test_a_document_over_the_chunk_limit_fails_alone(tmp_path: Path, fake_embedder: Any
                                                     ) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "small.txt").write_text(SMALL)
    (corpus / "huge.txt").write_text("".join(
        f"# Part {n}\n\n" + "Waiting lists fall as the elective hub opens. " * 40 + "\n\n"
        for n in range(30)))
    report = build_index(corpus, tmp_path / "index", fake_embedder, max_document_chunks=20)
    assert report.added == ["small.txt"]
    assert len(report.failed) == 1
    failure = report.failed[0]
    assert failure["path"] == "huge.txt"
    assert failure["reason"].startswith("too large to index: ")
    assert "chunks, more than the limit of 20 a document (PLANSEARCH_MAX_DOCUMENT_CHUNKS)" in \
        failure["reason"]
    assert not any("Waiting lists" in text for text in fake_embedder.embedded)  # never embedded


def test_a_huge_document_is_refused_before_it_is_chunked(tmp_path: Path, fake_embedder: Any
                                                         ) -> None:
    """Words bound the chunk count from below, so a 49 MB file needs no tokenising to be
    refused."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "small.txt").write_text(SMALL)
    (corpus / "huge.txt").write_text("word " * 200_000)
    report = build_index(corpus, tmp_path / "index", fake_embedder, max_document_chunks=100)
    assert report.added == ["small.txt"]
    assert report.failed[0]["reason"].startswith("too large to index: at least 1562 chunks, "
                                                 "more than the limit of 100")
