"""Writing a tiny corpus and building it, for the fixtures of several test folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.indexing.build import build_index


def build_corpus(corpus: Path, index: Path, embedder: Any, *batches: dict[str, str]) -> None:
    """Write each batch of documents into `corpus` and build after each one: a generation
    a batch."""
    corpus.mkdir(exist_ok=True)
    for documents in batches:
        for name, text in documents.items():
            (corpus / name).write_text(text)
        build_index(corpus, index, embedder)
