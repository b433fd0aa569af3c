"""Reading one published embedded generation: FAISS for vectors, tantivy for keyword
scores, SQLite for text, attribution and sentence vectors."""

from __future__ import annotations

import json
import queue
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from service.store import layout, vector_index
from service.store.interface import KeywordQuery
from service.store.keyword_index import KeywordSearcher, TantivyQuery
from service.store.records import (
    ChunkBox,
    ChunkRow,
    DocumentRecord,
    FailureRecord,
    IndexNotReady,
    PageRecord,
    Ranked,
    SentenceVectors,
)


class EmbeddedGeneration:
    """A loaded, read-only generation. Shared by request threads; never mutated."""

    def __init__(self, path: Path, pool_size: int = 4) -> None:
        self.path = path
        self.name = path.name
        self.manifest = layout.read_manifest(path)
        layout.check_format(self.manifest)
        # before mapping anything: a truncated file must not get as far as a query
        layout.check_sizes(path, self.manifest)
        try:
            self.vectors = vector_index.read_vector_index(path / layout.VECTORS)
        except RuntimeError as error:
            raise IndexNotReady(f"{path.name}: damaged vector file ({error})") from None
        self._pool: queue.Queue[sqlite3.Connection] = queue.Queue()
        for _ in range(pool_size):
            self._pool.put(layout.connect(path / layout.DATABASE, read_only=True))
        counted = self._count("chunks")
        if counted != self.vectors.ntotal:
            raise IndexNotReady(f"{path.name}: {counted} chunks but {self.vectors.ntotal} vectors")
        try:
            self.keywords = KeywordSearcher(path / layout.KEYWORDS)
        except ValueError as error:  # tantivy's word for a damaged or missing segment
            raise IndexNotReady(f"{path.name}: damaged keyword index ({error})") from None
        if self.keywords.count != counted:
            raise IndexNotReady(f"{path.name}: {counted} chunks but {self.keywords.count} in "
                                "the keyword index")
        self.chunk_count = counted

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        conn = self._pool.get()
        try:
            yield conn
        except sqlite3.DatabaseError as error:
            raise IndexNotReady(f"{self.name}: damaged database ({error})") from None
        finally:
            self._pool.put(conn)

    def _count(self, table: str) -> int:
        with self._db() as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def close(self) -> None:
        while not self._pool.empty():
            self._pool.get_nowait().close()

    def verify(self, thorough: bool = False) -> None:
        """Catch a damaged generation at load time rather than on some later query: the
        files' checksums (when cheap, or `thorough`), SQLite's quick_check over every page,
        and the manifest's counts against the tables."""
        layout.check_checksums(self.path, self.manifest, thorough)
        with self._db() as conn:
            verdict = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
        if verdict != ["ok"]:
            raise IndexNotReady(f"{self.name}: damaged database ({'; '.join(verdict)})")
        documents = self._count("documents")
        counts = self.manifest.get("counts", {})
        if counts.get("documents", documents) != documents or \
                counts.get("chunks", self.chunk_count) != self.chunk_count:
            raise IndexNotReady(f"{self.name}: the manifest's counts {counts} do not match "
                                f"the index ({documents} documents, {self.chunk_count} chunks)")

    def changed(self) -> str | None:
        """Why the files no longer look like the ones loaded (sizes only: one stat a
        file), or None."""
        try:
            layout.check_sizes(self.path, self.manifest)
        except IndexNotReady as error:
            return str(error)
        return None

    # --- vectors ------------------------------------------------------------------------
    def dense(self, vector: np.ndarray, k: int, allowed: Sequence[int] | None = None) -> Ranked:
        """Top-k chunk ids by inner product, optionally only among `allowed` ids."""
        if self.vectors.ntotal == 0:
            return []
        scores, ids = vector_index.search(self.vectors, vector, k, allowed)
        return [(int(i), float(s)) for i, s in zip(ids, scores, strict=True) if i != -1]

    def similarities(self, vector: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Exact inner products for chosen chunks, for fusing candidates that only the
        keyword retriever found."""
        scores = {}
        for chunk_id in ids:
            try:
                stored = self.vectors.reconstruct(int(chunk_id))
            except RuntimeError:  # an index type that can't reconstruct: leave it unscored
                continue
            scores[int(chunk_id)] = float(np.dot(stored, vector))
        return scores

    def sentence_vectors(self, ids: Sequence[int]) -> SentenceVectors:
        """chunk id -> (sentence spans in the chunk text, their vectors), where stored."""
        found = {}
        for chunk_id, spans, blob in self._rows_for(
                "SELECT chunk_id, spans, vectors FROM sentences WHERE chunk_id IN ({})", ids):
            vectors = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
            found[chunk_id] = ([tuple(s) for s in json.loads(spans)],
                               vectors.reshape(-1, self.vectors.d))
        return found

    # --- keywords -----------------------------------------------------------------------
    def keyword_query(self, text: str, synonyms: bool = True, phrases: str = "pairs"
                      ) -> KeywordQuery | None:
        return self.keywords.query(text, synonyms, phrases)

    def keyword(self, query: KeywordQuery, k: int, allowed: Sequence[int] | None = None
                ) -> Ranked:
        """BM25 top-k, optionally only among `allowed` ids."""
        try:
            return self.keywords.search(analysed(query), k, allowed)
        except ValueError as error:
            raise IndexNotReady(f"{self.name}: damaged keyword index ({error})") from None

    def keyword_scores(self, query: KeywordQuery, ids: Sequence[int]) -> dict[int, float]:
        """BM25 of chosen chunks, scoring only them; chunks that match no query term
        score 0."""
        try:
            return self.keywords.scores(analysed(query), ids)
        except ValueError as error:
            raise IndexNotReady(f"{self.name}: damaged keyword index ({error})") from None

    # --- text and attribution ---------------------------------------------------------
    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        sql = f"SELECT {', '.join(layout.CHUNK_COLUMNS)} FROM chunks WHERE id IN ({{}})"
        return {row["id"]: ChunkRow(**{**dict(row), "ocr": bool(row["ocr"])})
                for row in self._rows_for(sql, ids)}

    def chunk_boxes(self, ids: Sequence[int]) -> dict[int, list[ChunkBox]]:
        """chunk id -> its boxes on its pages, for the chunks that have them (PDFs)."""
        rows = self._rows_for("SELECT chunk_id, boxes FROM chunk_boxes WHERE chunk_id IN ({})",
                              ids)
        return {row[0]: [(int(page), float(x0), float(top), float(x1), float(bottom))
                         for page, x0, top, x1, bottom in json.loads(row[1])] for row in rows}

    def chunk_documents(self, ids: Sequence[int]) -> dict[int, str]:
        """chunk id -> document id."""
        rows = self._rows_for("SELECT id, doc_id FROM chunks WHERE id IN ({})", ids)
        return {row["id"]: row["doc_id"] for row in rows}

    def chunk_ids_for(self, areas: Sequence[str] = (), documents: Sequence[str] = ()
                      ) -> list[int] | None:
        """Ids of the chunks in these areas and documents (both, when both are given);
        None when neither is given, meaning every chunk."""
        ids: set[int] | None = None
        for column, values in (("area", areas), ("id", documents)):
            if values:
                found = {row[0] for row in self._rows_for(
                    "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id "
                    f"WHERE d.{column} IN ({{}})", values)}
                ids = found if ids is None else ids & found
        return sorted(ids) if ids is not None else None

    def documents(self) -> list[DocumentRecord]:
        with self._db() as conn:
            rows = conn.execute("SELECT * FROM documents ORDER BY title").fetchall()
        return [document_record(row) for row in rows]

    def document(self, doc_id: str) -> DocumentRecord | None:
        with self._db() as conn:
            row = conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return document_record(row) if row else None

    def failures(self) -> list[FailureRecord]:
        with self._db() as conn:
            rows = conn.execute("SELECT * FROM failures ORDER BY path").fetchall()
        return [FailureRecord(**dict(row)) for row in rows]

    def pages(self, doc_id: str) -> list[PageRecord]:
        with self._db() as conn:
            rows = conn.execute("SELECT number, label, text FROM pages WHERE doc_id = ? "
                                "ORDER BY number", (doc_id,)).fetchall()
        return [PageRecord(**dict(row)) for row in rows]

    def _rows_for(self, sql: str, values: Sequence[Any]) -> list[sqlite3.Row]:
        """Run `sql` with its `IN ({})` filled by one placeholder per value."""
        if not values:
            return []
        with self._db() as conn:
            return conn.execute(sql.format(",".join("?" * len(values))), list(values)).fetchall()


def analysed(query: KeywordQuery) -> TantivyQuery:
    """The tantivy query of a query this backend analysed."""
    if not isinstance(query, TantivyQuery):
        raise TypeError(f"not a keyword query of the embedded store: {query!r}")
    return query


def document_record(row: sqlite3.Row) -> DocumentRecord:
    values = dict(row)
    values["warnings"] = tuple(json.loads(values.get("warnings") or "[]"))
    return DocumentRecord(**values)
