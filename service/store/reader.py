"""Reading one published embedded generation: its own small database (documents,
failures, the segment list and tombstones), tantivy for keyword scores, and its segments
(chunk text, pages, sentence vectors, boxes and FAISS vectors; see `segments`)."""

from __future__ import annotations

import json
import queue
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from service.store import layout
from service.store.interface import GenerationUnreadable, KeywordQuery
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
from service.store.segments import SegmentInfo, SegmentSet


@contextmanager
def engine_errors() -> Iterator[None]:
    """This backend's engines' errors while opening or verifying a generation, as the
    interface's: SQLite's word for damage (DatabaseError) as IndexNotReady, and the OS's
    or FAISS's own failures (OSError, RuntimeError: too many open files, a permission),
    which say nothing about the data, as GenerationUnreadable."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        raise IndexNotReady(str(error)) from None
    except (OSError, RuntimeError) as error:
        raise GenerationUnreadable(str(error)) from None


class EmbeddedGeneration:
    """A loaded, read-only generation. Shared by request threads; never mutated."""

    def __init__(self, path: Path, pool_size: int = 4) -> None:
        with engine_errors():
            self._open(path, pool_size)

    def _open(self, path: Path, pool_size: int) -> None:
        self.path = path
        self.name = path.name
        self.manifest = layout.read_manifest(path)
        layout.check_format(self.manifest)
        # Before mapping anything: a truncated file must not get as far as a query. Reading
        # a mapped page past a file's end is what kills a process with SIGBUS, so a file
        # no shorter than the manifest says is exactly what mapping needs, at one stat a
        # file. This is how a worker that gunicorn starts in place of one SIGBUS killed
        # avoids the file that killed it (a checksum would read every byte at each load).
        layout.check_sizes(path, self.manifest)
        self._pool: queue.Queue[sqlite3.Connection] = queue.Queue()
        for _ in range(pool_size):
            self._pool.put(layout.connect(path / layout.DATABASE, read_only=True))
        try:
            self.segments = SegmentSet(path, *self._segment_table())
            self.chunk_count = self.segments.live_chunks
            try:
                self.keywords = KeywordSearcher(path / layout.KEYWORDS)
            except ValueError as error:  # tantivy's word for a damaged or missing segment
                raise IndexNotReady(f"{path.name}: damaged keyword index ({error})") from None
        except BaseException:
            self.close()
            raise
        if self.keywords.count != self.chunk_count:
            self.close()
            raise IndexNotReady(f"{path.name}: {self.chunk_count} chunks but "
                                f"{self.keywords.count} in the keyword index")

    def _segment_table(self) -> tuple[list[SegmentInfo], dict[str, np.ndarray]]:
        with self._db() as conn:
            infos = [SegmentInfo(*row) for row in conn.execute(
                "SELECT name, chunks, min_id, max_id FROM segments ORDER BY min_id")]
            dead: dict[str, list[int]] = {}
            for chunk_id, segment in conn.execute("SELECT chunk_id, segment FROM deleted"):
                dead.setdefault(segment, []).append(chunk_id)
        return infos, {name: np.asarray(ids, dtype=np.int64) for name, ids in dead.items()}

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
        if hasattr(self, "segments"):
            self.segments.close()

    def verify(self, thorough: bool = False, trusted: frozenset[str] = frozenset()) -> None:
        """Catch a damaged generation at load time rather than on some later query: the
        files' checksums (when cheap, or `thorough`), SQLite's quick_check over every page
        of each database (likewise), and the manifest's counts against the tables. The
        `trusted` files, hard-linked from a verified generation, are only size-checked:
        a build then verifies what it wrote, not the whole index again."""
        with engine_errors():
            self._verify(thorough, trusted)

    def _verify(self, thorough: bool, trusted: frozenset[str]) -> None:
        cheap = layout.check_checksums(self.path, self.manifest, thorough, trusted)
        checks = [("the generation's", self._quick_check())]
        if cheap:
            checks += [(f"segment {name}'s", segment.quick_check())
                       for name, segment in self.segments.segments.items()
                       if layout.segment_files(name)[0] not in trusted]
        for whose, verdict in checks:
            if verdict != ["ok"]:
                raise IndexNotReady(f"{self.name}: damaged database ({whose}: "
                                    f"{'; '.join(verdict)})")
        documents = self._count("documents")
        counts = self.manifest.get("counts", {})
        if counts.get("documents", documents) != documents or \
                counts.get("chunks", self.chunk_count) != self.chunk_count:
            raise IndexNotReady(f"{self.name}: the manifest's counts {counts} do not match "
                                f"the index ({documents} documents, {self.chunk_count} chunks)")

    def _quick_check(self) -> list[str]:
        with self._db() as conn:
            return [row[0] for row in conn.execute("PRAGMA quick_check(3)")]

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
        return self.segments.dense(vector, k, allowed)

    def similarities(self, vector: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Exact inner products for chosen chunks, for fusing candidates that only the
        keyword retriever found."""
        return self.segments.similarities(vector, ids)

    def sentence_vectors(self, ids: Sequence[int]) -> SentenceVectors:
        """chunk id -> (sentence spans in the chunk text, their vectors), where stored."""
        return self.segments.sentence_vectors(ids)

    def all_sentence_vectors(self) -> Iterator[tuple[int, np.ndarray]]:
        """Every live chunk's sentence vectors, segment by segment (tombstones skipped)."""
        return self.segments.all_sentence_vectors()

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
        return self.segments.chunks(ids)

    def chunk_boxes(self, ids: Sequence[int]) -> dict[int, list[ChunkBox]]:
        """chunk id -> its boxes on its pages, for the chunks that have them (PDFs)."""
        return self.segments.chunk_boxes(ids)

    def chunk_documents(self, ids: Sequence[int]) -> dict[int, str]:
        """chunk id -> document id."""
        return self.segments.chunk_documents(ids)

    def chunk_ids_for(self, areas: Sequence[str] = (), documents: Sequence[str] = ()
                      ) -> list[int] | None:
        """Ids of the chunks in these areas and documents (both, when both are given);
        None when neither is given, meaning every chunk."""
        if not areas and not documents:
            return None
        sql = "SELECT id, segment FROM documents WHERE 1"
        values: list[str] = []
        for column, wanted in (("area", areas), ("id", documents)):
            if wanted:
                sql += f" AND {column} IN ({','.join('?' * len(wanted))})"
                values += wanted
        by_segment: dict[str, list[str]] = {}
        with self._db() as conn:
            for doc_id, segment in conn.execute(sql, values):
                by_segment.setdefault(segment, []).append(doc_id)
        return sorted(self.segments.document_chunk_ids(by_segment))

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

    def pages(self, doc_id: str, first: int = 1, last: int | None = None
              ) -> list[PageRecord]:
        with self._db() as conn:
            row = conn.execute("SELECT segment FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return self.segments.pages(row[0], doc_id, first, last) if row else []


def analysed(query: KeywordQuery) -> TantivyQuery:
    """The tantivy query of a query this backend analysed."""
    if not isinstance(query, TantivyQuery):
        raise TypeError(f"not a keyword query of the embedded store: {query!r}")
    return query


def document_record(row: sqlite3.Row) -> DocumentRecord:
    values = dict(row)
    values.pop("segment", None)
    values["warnings"] = tuple(json.loads(values.get("warnings") or "[]"))
    # NULL in a generation built before the column, or a document not re-read since
    values["active_content"] = tuple(json.loads(values.get("active_content") or "[]"))
    return DocumentRecord(**values)
