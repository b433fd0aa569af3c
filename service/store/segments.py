"""Reading the immutable segments of one embedded generation. Each segment holds the
chunks one build added (text, pages, sentence vectors, boxes and their FAISS vectors);
chunks a later build replaced or deleted stay in their segment as tombstones, listed in
the generation's own database and left out of every answer here."""

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

from service.store import layout, vector_index
from service.store.records import ChunkBox, ChunkRow, IndexNotReady, PageRecord, SentenceVectors

POOL_SIZE = 4  # connections a segment keeps for concurrent request threads


@dataclass(frozen=True)
class SegmentInfo:
    name: str
    chunks: int  # rows written, tombstones included
    min_id: int
    max_id: int


class Segment:
    """One segment's database and vectors, opened read-only (the vectors memory-mapped,
    so that forked workers share their pages)."""

    def __init__(self, folder: Path, info: SegmentInfo, dead: np.ndarray) -> None:
        self.info = info
        self.label = f"{folder.name}: segment {info.name}"
        database, vectors = layout.segment_files(info.name)
        try:
            self.vectors = vector_index.read_vector_index(folder / vectors)
        except RuntimeError as error:
            raise IndexNotReady(f"{folder.name}: damaged vector file {vectors} ({error})"
                                ) from None
        if self.vectors.ntotal != info.chunks:
            raise IndexNotReady(f"{self.label} has {self.vectors.ntotal} vectors but "
                                f"{info.chunks} chunks")
        self.dead = dead
        self._excluded: Any = None  # the FAISS selector skipping `dead`, made when needed
        self._database = folder / database
        self._pool: queue.Queue[sqlite3.Connection] = queue.Queue()
        self._opened = 0

    @property
    def live(self) -> int:
        return self.info.chunks - len(self.dead)

    @contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = layout.connect(self._database, read_only=True)
        try:
            yield conn
        except sqlite3.DatabaseError as error:
            raise IndexNotReady(f"{self.label}: damaged database ({error})") from None
        finally:
            if self._pool.qsize() < POOL_SIZE:
                self._pool.put(conn)
            else:
                conn.close()

    def rows(self, sql: str, values: Sequence[Any]) -> list[sqlite3.Row]:
        """Run `sql` with its `IN ({})` filled by one placeholder per value."""
        if not values:
            return []
        with self.db() as conn:
            return conn.execute(sql.format(",".join("?" * len(values))), list(values)).fetchall()

    def quick_check(self) -> list[str]:
        # on a connection of its own: a pooled one would keep the pages it read cached,
        # and could hide damage done to the file afterwards from later queries
        conn = layout.connect(self._database, read_only=True)
        try:
            return [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
        except sqlite3.DatabaseError as error:
            raise IndexNotReady(f"{self.label}: damaged database ({error})") from None
        finally:
            conn.close()

    def dense(self, vector: np.ndarray, k: int, allowed: Sequence[int] | np.ndarray | None
              ) -> list[tuple[int, float]]:
        if self.live <= 0:
            return []
        if allowed is None and len(self.dead):
            # tombstones never win: FAISS skips them while it scans
            if self._excluded is None:
                self._excluded = vector_index.excluding(self.dead)
            scores, ids = vector_index.search(self.vectors, vector, k, excluded=self._excluded)
        else:
            scores, ids = vector_index.search(self.vectors, vector, k, allowed)
        return [(int(i), float(s)) for i, s in zip(ids, scores, strict=True) if i != -1]

    def close(self) -> None:
        while not self._pool.empty():
            self._pool.get_nowait().close()


class SegmentSet:
    """Every segment of a generation, with ids routed to the segments that hold them."""

    def __init__(self, folder: Path, infos: list[SegmentInfo], dead: dict[str, np.ndarray]
                 ) -> None:
        self.segments: dict[str, Segment] = {}
        try:
            for info in infos:
                self.segments[info.name] = Segment(
                    folder, info, dead.get(info.name, np.zeros(0, np.int64)))
        except BaseException:
            self.close()
            raise
        self.dimension = next((s.vectors.d for s in self.segments.values()), 0)

    @property
    def live_chunks(self) -> int:
        return sum(s.live for s in self.segments.values())

    def close(self) -> None:
        for segment in self.segments.values():
            segment.close()

    def routed(self, ids: Sequence[int]) -> Iterator[tuple[Segment, list[int]]]:
        """(segment, the ids within its id range) for every segment holding some. An area
        filter can pass tens of thousands of ids: they are split by range in NumPy."""
        for segment, mine in self.routed_arrays(ids):
            yield segment, mine.tolist()

    def routed_arrays(self, ids: Sequence[int]) -> Iterator[tuple[Segment, np.ndarray]]:
        """As `routed`, the ids left in NumPy: the vector search reads them as they are."""
        wanted = np.asarray(ids, dtype=np.int64)
        for segment in self.segments.values():
            mine = wanted[(wanted >= segment.info.min_id) & (wanted <= segment.info.max_id)]
            if len(mine):
                yield segment, mine

    def rows(self, sql: str, ids: Sequence[int]) -> list[sqlite3.Row]:
        return [row for segment, mine in self.routed(ids) for row in segment.rows(sql, mine)]

    def dense(self, vector: np.ndarray, k: int, allowed: Sequence[int] | None = None
              ) -> list[tuple[int, float]]:
        found: list[tuple[int, float]] = []
        if allowed is None:
            for segment in self.segments.values():
                found += segment.dense(vector, k, None)
        else:
            for segment, mine in self.routed_arrays(allowed):
                found += segment.dense(vector, k, mine)
        found.sort(key=lambda pair: -pair[1])
        return found[:k]

    def vector(self, chunk_id: int) -> np.ndarray | None:
        """A chunk's stored vector, or None (unknown id, or an index that can't tell)."""
        for segment, _ in self.routed([chunk_id]):
            try:
                return np.asarray(segment.vectors.reconstruct(int(chunk_id)))
            except RuntimeError:  # not in this segment (ranges may overlap after a merge)
                continue
        return None

    def similarities(self, vector: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        scores = {}
        for chunk_id in ids:
            stored = self.vector(int(chunk_id))
            if stored is not None:
                scores[int(chunk_id)] = float(np.dot(stored, vector))
        return scores

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        sql = f"SELECT {', '.join(layout.CHUNK_COLUMNS)} FROM chunks WHERE id IN ({{}})"
        return {row["id"]: ChunkRow(**{**dict(row), "ocr": bool(row["ocr"])})
                for row in self.rows(sql, ids)}

    def chunk_boxes(self, ids: Sequence[int]) -> dict[int, list[ChunkBox]]:
        rows = self.rows("SELECT chunk_id, boxes FROM chunk_boxes WHERE chunk_id IN ({})", ids)
        return {row[0]: [(int(page), float(x0), float(top), float(x1), float(bottom))
                         for page, x0, top, x1, bottom in json.loads(row[1])] for row in rows}

    def chunk_documents(self, ids: Sequence[int]) -> dict[int, str]:
        return {row[0]: row[1] for row in self.rows(
            "SELECT id, doc_id FROM chunks WHERE id IN ({})", ids)}

    def sentence_vectors(self, ids: Sequence[int]) -> SentenceVectors:
        found = {}
        for chunk_id, spans, blob in self.rows(
                "SELECT chunk_id, spans, vectors FROM sentences WHERE chunk_id IN ({})", ids):
            vectors = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
            found[chunk_id] = ([tuple(s) for s in json.loads(spans)],
                               vectors.reshape(-1, self.dimension))
        return found

    def all_sentence_vectors(self) -> Iterator[tuple[int, np.ndarray]]:
        for segment in self.segments.values():
            dead = set(segment.dead.tolist())
            with segment.db() as conn:
                for chunk_id, blob in conn.execute(
                        "SELECT chunk_id, vectors FROM sentences ORDER BY chunk_id"):
                    if chunk_id not in dead:
                        vectors = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
                        yield int(chunk_id), vectors.reshape(-1, self.dimension)

    def document_chunk_ids(self, by_segment: dict[str, list[str]]) -> set[int]:
        """Ids of the chunks of these documents, each looked up in its own segment."""
        found: set[int] = set()
        for name, doc_ids in by_segment.items():
            found |= {row[0] for row in self.segments[name].rows(
                "SELECT id FROM chunks WHERE doc_id IN ({})", doc_ids)}
        return found

    def pages(self, segment: str, doc_id: str, first: int = 1, last: int | None = None
              ) -> list[PageRecord]:
        # the bounds are ints, written into the SQL: rows() binds only the IN list
        bounds = f"AND number BETWEEN {int(first)} AND {int(last) if last else 2**31}"
        rows = self.segments[segment].rows(
            f"SELECT number, label, text FROM pages WHERE doc_id IN ({{}}) {bounds} "
            "ORDER BY number", [doc_id])
        return [PageRecord(**dict(row)) for row in rows]
