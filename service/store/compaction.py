"""Keeping a generation's segments few and mostly alive. Every build adds a segment, and
replaced chunks stay in theirs as tombstones; at the end of a build, segments that are
mostly dead are rewritten and, past `MAX_SEGMENTS`, the smallest are merged. Both write a
new segment in the staging folder: the old files are still linked from older
generations, which must keep serving exactly what they served."""

from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from service.store import layout, vector_index

log = logging.getLogger(__name__)

# a search asks every segment, so each one costs a FAISS call and a SQLite query
MAX_SEGMENTS = 8
# a segment with at least this share of tombstones is rewritten without them
DEAD_SHARE = 0.5


def segment_chunk_ids(folder: Path, segment: str, doc_id: str) -> list[int]:
    """Ids of a document's chunks in one (linked, read-only) segment."""
    conn = _read_only(folder / layout.segment_files(segment)[0])
    try:
        return [r[0] for r in conn.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
    finally:
        conn.close()


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)


def write_segment_vectors(folder: Path, segment: str, vectors: Any) -> None:
    vectors = vector_index.fit_vector_index(vectors)  # exact or IVF, by size
    vector_index.faiss.write_index(vectors, str(folder / layout.segment_files(segment)[1]))


def vector_kinds(folder: Path, segments: list[str]) -> str:
    """The manifest's `vector_index`: the index types the segments use, e.g. "IndexFlatIP"
    or "IndexIVFFlat+IndexFlatIP"."""
    kinds = {vector_index.kind(vector_index.read_vector_index(
        folder / layout.segment_files(name)[1])) for name in segments}
    return "+".join(sorted(kinds, reverse=True)) or "IndexFlatIP"


def compact(folder: Path, conn: sqlite3.Connection, dimension: int, target: str) -> None:
    """Drop dead segments, rewrite mostly dead ones, and merge the smallest past
    MAX_SEGMENTS into a new segment named `target`. `conn` is the staging generation's
    own database."""
    rows = conn.execute("SELECT s.name, s.chunks, s.min_id, count(d.chunk_id) FROM segments s "
                        "LEFT JOIN deleted d ON d.segment = s.name GROUP BY s.name").fetchall()
    live = {name: chunks - dead for name, chunks, _, dead in rows}
    for name in [n for n, count in live.items() if count == 0]:
        _drop(folder, conn, name)
        del live[name]
    chosen = {name for name, chunks, _, dead in rows if name in live and dead
              and dead >= DEAD_SHARE * chunks}
    if len(live) > MAX_SEGMENTS:
        smallest = sorted(live, key=live.__getitem__)
        chosen |= set(smallest[:len(live) - MAX_SEGMENTS // 2 + 1])
    if chosen and (len(chosen) > 1 or any(dead for n, _, _, dead in rows if n in chosen)):
        merge(folder, conn, sorted(chosen), target, dimension)


def _drop(folder: Path, conn: sqlite3.Connection, name: str) -> None:
    conn.execute("DELETE FROM segments WHERE name = ?", (name,))
    conn.execute("DELETE FROM deleted WHERE segment = ?", (name,))
    shutil.rmtree(folder / layout.SEGMENTS / name)


def merge(folder: Path, conn: sqlite3.Connection, sources: list[str], target: str,
          dimension: int) -> None:
    """Write the live rows and vectors of `sources` into one new segment `target`."""
    log.info("compacting segments %s into %s", ", ".join(sources), target)
    (folder / layout.SEGMENTS / target).mkdir()
    # a URI connection, so that the sources can be attached read-only and immutable
    out = sqlite3.connect(f"file:{folder / layout.segment_files(target)[0]}", uri=True)
    out.executescript(layout.SEGMENT_SCHEMA)
    vectors = vector_index.new_vector_index(dimension)
    try:
        for source in sources:
            dead = [r[0] for r in conn.execute("SELECT chunk_id FROM deleted WHERE segment = ?",
                                               (source,))]
            docs = [r[0] for r in conn.execute("SELECT id FROM documents WHERE segment = ?",
                                               (source,))]
            _copy_rows(out, folder / layout.segment_files(source)[0], dead, docs)
            _copy_vectors(vectors, folder / layout.segment_files(source)[1], dead)
        out.commit()
        low, high, count = out.execute("SELECT min(id), max(id), count(*) FROM chunks"
                                       ).fetchone()
    finally:
        out.close()
    write_segment_vectors(folder, target, vectors)
    marks = ",".join("?" * len(sources))
    conn.execute(f"UPDATE documents SET segment = ? WHERE segment IN ({marks})",
                 [target, *sources])
    for source in sources:
        _drop(folder, conn, source)
    conn.execute("INSERT INTO segments (name, chunks, min_id, max_id) VALUES (?, ?, ?, ?)",
                 (target, count, low, high))


def _copy_rows(out: sqlite3.Connection, source: Path, dead: list[int], docs: list[str]
               ) -> None:
    out.execute("ATTACH DATABASE ? AS src", (f"file:{source}?mode=ro&immutable=1",))
    try:
        out.execute("CREATE TEMP TABLE IF NOT EXISTS dead (id INTEGER PRIMARY KEY)")
        out.execute("CREATE TEMP TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY)")
        out.execute("DELETE FROM temp.dead")
        out.execute("DELETE FROM temp.docs")
        out.executemany("INSERT INTO temp.dead VALUES (?)", [(i,) for i in dead])
        out.executemany("INSERT INTO temp.docs VALUES (?)", [(d,) for d in docs])
        out.execute("INSERT INTO main.chunks SELECT * FROM src.chunks "
                    "WHERE id NOT IN (SELECT id FROM temp.dead)")
        for table in ("sentences", "chunk_boxes"):
            out.execute(f"INSERT INTO main.{table} SELECT * FROM src.{table} "
                        "WHERE chunk_id NOT IN (SELECT id FROM temp.dead)")
        out.execute("INSERT INTO main.pages SELECT * FROM src.pages "
                    "WHERE doc_id IN (SELECT id FROM temp.docs)")
        out.commit()
    finally:
        out.execute("DETACH DATABASE src")


def _copy_vectors(into: Any, source: Path, dead: list[int]) -> None:
    ids, vectors = vector_index.all_vectors(vector_index.faiss.read_index(str(source)))
    keep = ~np.isin(ids, np.asarray(dead, dtype=np.int64))
    if keep.any():
        into.add_with_ids(np.ascontiguousarray(vectors[keep], dtype=np.float32), ids[keep])
