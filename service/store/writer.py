"""Writing a new embedded generation in a staging folder. The base generation's segments
are hard-linked, not copied: they never change. Only its small database is copied; the
documents this build adds go into one new segment, and the chunks it replaces or deletes
become tombstones. Publishing then costs what changed, not the whole index."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from service.store import compaction, layout, vector_index
from service.store.keyword_index import KeywordIndex
from service.store.reader import document_record
from service.store.records import DocumentRecord, FailureRecord, NewChunk, PageRecord


class StagingGeneration:
    """An unpublished generation. Only the build holding the build lock writes one."""

    def __init__(self, folder: Path, number: int, base: Path | None, dimension: int) -> None:
        self.folder = folder
        self.number = number
        self.dimension = dimension
        self.linked: dict[str, dict[str, Any]] = {}  # file -> the base manifest's record
        (folder / layout.SEGMENTS).mkdir()
        if base is not None:
            shutil.copy2(base / layout.DATABASE, folder / layout.DATABASE)
            self._link_segments(base)
            self.keywords = KeywordIndex.copy_from(base / layout.KEYWORDS,
                                                   folder / layout.KEYWORDS)
            self._note_linked(base)
        else:
            self.keywords = KeywordIndex.create(folder / layout.KEYWORDS)
        self.conn = layout.connect(folder / layout.DATABASE)
        layout.add_missing_columns(self.conn)
        # the segment this build writes; created with the first document it adds
        self.segment = f"seg-{number:06d}"
        self.segment_conn: Any = None
        self._new_ids: list[int] = []
        self._new_vectors: list[np.ndarray] = []
        self._deleted_rows = False

    def _link_segments(self, base: Path) -> None:
        for segment in (base / layout.SEGMENTS).iterdir():
            (self.folder / layout.SEGMENTS / segment.name).mkdir()
            for name in layout.segment_files(segment.name):
                os.link(base / name, self.folder / name)

    def _note_linked(self, base: Path) -> None:
        """Every file this generation shares with the base (its segments, and the keyword
        index's segment files; not the copies), with the record the base's manifest has."""
        for name, record in layout.read_manifest(base).get("files", {}).items():
            if (self.folder / name).exists() and \
                    (self.folder / name).stat().st_ino == (base / name).stat().st_ino:
                self.linked[name] = record

    def _next_id(self) -> int:
        row = self.conn.execute("SELECT value FROM counters WHERE name = 'next_chunk_id'"
                                ).fetchone()
        return int(row[0]) if row else 1

    def _segment_db(self) -> Any:
        if self.segment_conn is None:
            (self.folder / layout.SEGMENTS / self.segment).mkdir(exist_ok=True)
            self.segment_conn = layout.connect(
                self.folder / layout.segment_files(self.segment)[0],
                schema=layout.SEGMENT_SCHEMA)
        return self.segment_conn

    def documents(self) -> dict[str, DocumentRecord]:
        rows = self.conn.execute("SELECT * FROM documents").fetchall()
        return {row["path"]: document_record(row) for row in rows}

    def failures(self) -> dict[str, FailureRecord]:
        rows = self.conn.execute("SELECT * FROM failures").fetchall()
        return {row["path"]: FailureRecord(**dict(row)) for row in rows}

    def record_failure(self, failure: FailureRecord) -> None:
        self.conn.execute("INSERT OR REPLACE INTO failures (path, reason, sha256, failed_at) "
                          "VALUES (?, ?, ?, ?)",
                          (failure.path, failure.reason, failure.sha256, failure.failed_at))

    def clear_failure(self, path: str) -> None:
        self.conn.execute("DELETE FROM failures WHERE path = ?", (path,))

    def delete_document(self, doc_id: str) -> None:
        row = self.conn.execute("SELECT segment FROM documents WHERE id = ?", (doc_id,)
                                ).fetchone()
        if row is None:
            return
        if row[0] == self.segment:
            ids = self._delete_new(doc_id)
        else:
            ids = compaction.segment_chunk_ids(self.folder, row[0], doc_id)
            self.conn.executemany("INSERT OR IGNORE INTO deleted (chunk_id, segment) "
                                  "VALUES (?, ?)", [(i, row[0]) for i in ids])
        self.keywords.delete(ids)
        self.conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        self._deleted_rows = True

    def _delete_new(self, doc_id: str) -> list[int]:
        """Take back a document this build added (it is then added again)."""
        conn = self._segment_db()
        ids = [r[0] for r in conn.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
        for table, column in (("sentences", "chunk_id"), ("chunk_boxes", "chunk_id")):
            conn.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(i,) for i in ids])
        for table in ("chunks", "pages"):
            conn.execute(f"DELETE FROM {table} WHERE doc_id = ?", (doc_id,))
        gone = set(ids)
        kept = [(i, v) for i, v in zip(self._new_ids, self._new_vectors, strict=True)
                if i not in gone]
        self._new_ids = [i for i, _ in kept]
        self._new_vectors = [v for _, v in kept]
        return ids

    def add_document(self, document: DocumentRecord, pages: Sequence[PageRecord],
                     chunks: Sequence[NewChunk]) -> None:
        values = {**document.to_dict(), "segment": self.segment}
        values["warnings"] = json.dumps(values["warnings"])
        values["active_content"] = json.dumps(values["active_content"])
        columns = (*layout.DOCUMENT_COLUMNS, "segment")
        self.conn.execute(layout.insert("documents", columns), [values[c] for c in columns])
        segment = self._segment_db()
        segment.executemany(layout.insert("pages", ("doc_id", "number", "label", "text")),
                            [(document.id, p.number, p.label, p.text) for p in pages])
        next_id = self._next_id()
        for chunk_id, chunk in enumerate(chunks, start=next_id):
            self._add_chunk(segment, chunk_id, document, chunk)
        self.conn.execute("INSERT OR REPLACE INTO counters (name, value) "
                          "VALUES ('next_chunk_id', ?)", (next_id + len(chunks),))

    def _add_chunk(self, segment: Any, chunk_id: int, document: DocumentRecord,
                   chunk: NewChunk) -> None:
        segment.execute(layout.insert("chunks", (*layout.CHUNK_COLUMNS, "tokens")), (
            chunk_id, document.id, chunk.ordinal, chunk.page_start, chunk.page_end,
            chunk.page_label, chunk.section, chunk.char_start, chunk.char_end, chunk.text,
            int(chunk.ocr), chunk.tokens))
        self.keywords.add(chunk_id, f"{document.keyword_title} {chunk.section} {chunk.text}")
        if chunk.sentence_vectors is not None:
            segment.execute("INSERT INTO sentences (chunk_id, spans, vectors) VALUES (?, ?, ?)",
                            (chunk_id, json.dumps(chunk.sentence_spans),
                             chunk.sentence_vectors.astype(np.float16).tobytes()))
        if chunk.boxes:
            segment.execute("INSERT INTO chunk_boxes (chunk_id, boxes) VALUES (?, ?)",
                            (chunk_id, json.dumps(chunk.boxes)))
        self._new_ids.append(chunk_id)
        self._new_vectors.append(chunk.vector)

    def counts(self) -> dict[str, int]:
        counted = {table: int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                   for table in ("documents", "failures")}
        written, dead = self.conn.execute(
            "SELECT (SELECT coalesce(sum(chunks), 0) FROM segments), "
            "(SELECT count(*) FROM deleted)").fetchone()
        return {**counted, "chunks": int(written) - int(dead) + len(self._new_ids)}

    def finish(self, manifest: dict[str, Any]) -> None:
        """Seal the new segment, compact if it is time, commit, and write the files that
        make the generation complete."""
        self._seal_segment()
        self.keywords.commit()
        compaction.compact(self.folder, self.conn, self.dimension, f"{self.segment}-c")
        self.conn.commit()
        if self._deleted_rows:
            self.conn.execute("VACUUM")  # deleted rows would otherwise bloat every later copy
        segments = [row[0] for row in self.conn.execute("SELECT name FROM segments")]
        kinds = compaction.vector_kinds(self.folder, segments)
        self.close()
        manifest = {**manifest, "format_version": layout.FORMAT_VERSION,
                    "vector_index": kinds, "segments": len(segments),
                    "files": layout.file_records(self.folder, segments, self.linked),
                    "versions": {**manifest.get("versions", {}), **layout.store_versions()}}
        (self.folder / layout.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")

    def _seal_segment(self) -> None:
        if self.segment_conn is None:
            return
        self.segment_conn.commit()
        self.segment_conn.close()
        self.segment_conn = None
        if not self._new_ids:  # every document it took was taken back
            shutil.rmtree(self.folder / layout.SEGMENTS / self.segment)
            return
        vectors = vector_index.new_vector_index(self.dimension)
        ids = np.asarray(self._new_ids, dtype=np.int64)
        vectors.add_with_ids(np.vstack(self._new_vectors).astype(np.float32, copy=False), ids)
        compaction.write_segment_vectors(self.folder, self.segment, vectors)
        self.conn.execute("INSERT INTO segments (name, chunks, min_id, max_id) "
                          "VALUES (?, ?, ?, ?)",
                          (self.segment, len(ids), int(ids.min()), int(ids.max())))

    def close(self) -> None:
        self.conn.close()  # a no-op when already closed
        if self.segment_conn is not None:
            self.segment_conn.close()
            self.segment_conn = None
