"""Shared fixtures: a clean environment, the real model once per session, and tiny
real indexes built in tmp_path."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from service.embedding.models import SentenceTransformerEmbedder
from service.indexing.build import build_index

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = ROOT / "corpus"
SHARED_PDFS = ROOT.parent / "shared" / "pdfs"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PLANSEARCH_* variable from the developer's shell may leak into a test."""
    for name in list(os.environ):
        if name.startswith("PLANSEARCH_"):
            monkeypatch.delenv(name)


class FakeEmbedder:
    """Deterministic bag-of-words vectors for unit tests that are about something other
    than retrieval quality. Token counts come from the real model's tokenizer."""

    name = "fake-embedder"
    dimension = 64
    max_seq_length = 256

    def __init__(self) -> None:
        self.embedded: list[str] = []
        self._tokenizer = SentenceTransformerEmbedder().tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text).ids)

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for word in text.lower().split():
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "little") % self.dimension] += 1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded.extend(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real all-MiniLM-L6-v2, loaded once for the whole session."""
    model = SentenceTransformerEmbedder()
    model.embed_query("warm up")
    return model


@pytest.fixture(scope="session")
def bundled_index(tmp_path_factory: pytest.TempPathFactory,
                  embedder: SentenceTransformerEmbedder) -> Path:
    """The five bundled plans, indexed once with the real model. Read-only for tests."""
    root = tmp_path_factory.mktemp("bundled")
    corpus = root / "corpus"
    shutil.copytree(BUNDLED_CORPUS, corpus)
    build_index(corpus, root / "index", embedder)
    return root


@pytest.fixture(scope="module")
def app(bundled_index: Path, embedder: SentenceTransformerEmbedder):  # type: ignore[no-untyped-def]
    """The app over the read-only bundled index. One per module shares the searcher's
    caches; modules that need another app define their own `app`."""
    from service import create_app

    return create_app({"INDEX_DIR": str(bundled_index / "index"),
                       "CORPUS_DIR": str(bundled_index / "corpus"), "EMBEDDER": embedder,
                       # API tests send far more than a person would in a minute
                       "RATE_LIMIT_SEARCH": "100000/minute"})


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()
