"""Writing a tiny corpus and building it, for the fixtures of several test folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.indexing.build import build_index
from service.store import IndexReader, open_store


def build_corpus(corpus: Path, index: Path, embedder: Any, *batches: dict[str, str]) -> None:
    """Write each batch of documents into `corpus` and build after each one: a generation
    a batch."""
    corpus.mkdir(exist_ok=True)
    for documents in batches:
        for name, text in documents.items():
            (corpus / name).write_text(text)
        build_index(corpus, index, embedder)


def built_generation(root: Path, embedder: Any, documents: dict[str, str]) -> IndexReader:
    """Write `documents` into root/corpus, build root/index once and open its live
    generation."""
    build_corpus(root / "corpus", root / "index", embedder, documents)
    store = open_store(root / "index")
    current = store.current()
    assert current is not None
    return store.open(current)
