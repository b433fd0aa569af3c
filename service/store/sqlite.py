"""One index generation: a FAISS index of chunk vectors keyed by chunk id, and an
SQLite database of documents, pages, chunks and an FTS5 keyword table."""

from __future__ import annotations

import json
import queue
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from service.store import vector_index

MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
DATABASE = "index.sqlite"
FORMAT_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, path TEXT UNIQUE NOT NULL, title TEXT NOT NULL, area TEXT,
    source_url TEXT, published TEXT, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    pages INTEGER NOT NULL, chunks INTEGER NOT NULL, indexed_at TEXT NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS pages (
    doc_id TEXT NOT NULL, number INTEGER NOT NULL, label TEXT, text TEXT NOT NULL,
    PRIMARY KEY (doc_id, number)
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
    page_start INTEGER NOT NULL, page_end INTEGER NOT NULL, page_label TEXT,
    section TEXT NOT NULL, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL,
    text TEXT NOT NULL, tokens INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks (doc_id, ordinal);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(terms, tokenize = 'porter unicode61');
CREATE TABLE IF NOT EXISTS sentences (
    chunk_id INTEGER PRIMARY KEY, spans TEXT NOT NULL, vectors BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    path TEXT PRIMARY KEY, reason TEXT NOT NULL, sha256 TEXT NOT NULL, failed_at TEXT NOT NULL
);
"""


class IndexNotReady(Exception):
    """No usable index generation exists."""


class IncompatibleIndex(Exception):
    """The index was built with a different model or format."""


@dataclass(frozen=True)
class ChunkRow:
    id: int
    doc_id: str
    ordinal: int
    page_start: int
    page_end: int
    page_label: str | None
    section: str
    char_start: int
    char_end: int
    text: str


def connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    if read_only:
        # immutable: generations never change once published, so skip all locking
        uri = f"file:{path}?mode=ro&immutable=1"
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path)
        conn.executescript(SCHEMA)
    conn.row_factory = sqlite3.Row
    return conn


def new_vector_index(dimension: int) -> Any:
    return vector_index.new_vector_index(dimension)


def read_manifest(generation: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((generation / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise IndexNotReady(f"{generation.name}: unreadable manifest ({error})") from None
    return manifest


def check_model(manifest: dict[str, Any], model_name: str) -> None:
    """Refuse to search vectors made by another model: the scores would be meaningless."""
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IncompatibleIndex(
            f"index format {manifest.get('format_version')} is not {FORMAT_VERSION}; "
            "rebuild with `python scripts/build_index.py --full`")
    if manifest.get("model") != model_name:
        raise IncompatibleIndex(
            f"the index was built with model {manifest.get('model')!r} but {model_name!r} is "
            "configured; rebuild with `python scripts/build_index.py --full "
            f"--model {model_name}` or configure the index's model")


class IndexGeneration:
    """A loaded, read-only generation. Shared by request threads; never mutated."""

    def __init__(self, path: Path, pool_size: int = 4) -> None:
        self.path = path
        self.name = path.name
        self.manifest = read_manifest(path)
        try:
            self.vectors = vector_index.read_vector_index(path / VECTORS)
        except RuntimeError as error:
            raise IndexNotReady(f"{path.name}: damaged vector file ({error})") from None
        self._pool: queue.Queue[sqlite3.Connection] = queue.Queue()
        for _ in range(pool_size):
            self._pool.put(connect(path / DATABASE, read_only=True))
        with self.db() as conn:
            try:
                counted = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
            except sqlite3.DatabaseError as error:
                raise IndexNotReady(f"{path.name}: damaged database ({error})") from None
        if counted != self.vectors.ntotal:
            raise IndexNotReady(f"{path.name}: {counted} chunks but {self.vectors.ntotal} vectors")
        self.chunk_count = counted

    @contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        conn = self._pool.get()
        try:
            yield conn
        finally:
            self._pool.put(conn)

    def close(self) -> None:
        while not self._pool.empty():
            self._pool.get_nowait().close()

    def dense(self, query: np.ndarray, k: int, allowed: Sequence[int] | None = None
              ) -> list[tuple[int, float]]:
        """Top-k chunk ids by inner product, optionally only among `allowed` ids."""
        if self.vectors.ntotal == 0:
            return []
        scores, ids = vector_index.search(self.vectors, query, k, allowed)
        return [(int(i), float(s)) for i, s in zip(ids, scores, strict=True) if i != -1]

    def similarities(self, query: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Exact inner products for chosen chunks, for fusing candidates that only the
        keyword retriever found."""
        scores = {}
        for chunk_id in ids:
            try:
                vector = self.vectors.reconstruct(int(chunk_id))
            except RuntimeError:  # an index type that can't reconstruct: leave it unscored
                continue
            scores[int(chunk_id)] = float(np.dot(vector, query))
        return scores

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self.db() as conn:
            rows = conn.execute(
                f"SELECT id, doc_id, ordinal, page_start, page_end, page_label, section, "
                f"char_start, char_end, text FROM chunks WHERE id IN ({marks})", list(ids))
            return {row["id"]: ChunkRow(**dict(row)) for row in rows}

    def chunk_documents(self, ids: Sequence[int]) -> dict[int, str]:
        """chunk id -> document id."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self.db() as conn:
            rows = conn.execute(f"SELECT id, doc_id FROM chunks WHERE id IN ({marks})", list(ids))
            return {row[0]: row[1] for row in rows}

    def sentence_vectors(self, ids: Sequence[int]
                         ) -> dict[int, tuple[list[tuple[int, int]], np.ndarray]]:
        """chunk id -> (sentence spans in the chunk text, their vectors), where stored."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self.db() as conn:
            rows = conn.execute(f"SELECT chunk_id, spans, vectors FROM sentences "
                                f"WHERE chunk_id IN ({marks})", list(ids)).fetchall()
        found = {}
        for chunk_id, spans, blob in rows:
            vectors = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
            found[chunk_id] = ([tuple(s) for s in json.loads(spans)],
                               vectors.reshape(-1, self.vectors.d))
        return found

    def documents(self) -> list[dict[str, Any]]:
        with self.db() as conn:
            rows = conn.execute("SELECT * FROM documents ORDER BY title").fetchall()
        return [document_dict(row) for row in rows]

    def document(self, doc_id: str) -> dict[str, Any] | None:
        with self.db() as conn:
            row = conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return document_dict(row) if row else None

    def failures(self) -> list[dict[str, str]]:
        with self.db() as conn:
            rows = conn.execute("SELECT path, reason, failed_at FROM failures ORDER BY path")
            return [dict(row) for row in rows]

    def pages(self, doc_id: str) -> list[sqlite3.Row]:
        with self.db() as conn:
            return conn.execute("SELECT number, label, text FROM pages WHERE doc_id = ? "
                                "ORDER BY number", (doc_id,)).fetchall()

    def chunk_ids_for(self, column: str, values: Sequence[str]) -> list[int]:
        """Chunk ids of documents whose `column` (id or area) is one of values."""
        assert column in {"id", "area"}
        marks = ",".join("?" * len(values))
        with self.db() as conn:
            rows = conn.execute(f"SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id "
                                f"WHERE d.{column} IN ({marks})", list(values))
            return [row[0] for row in rows]


def document_dict(row: sqlite3.Row) -> dict[str, Any]:
    values = dict(row)
    values["warnings"] = json.loads(values.get("warnings") or "[]")
    return values
