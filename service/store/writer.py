"""Writing a new embedded generation in a staging folder: a copy of the base generation's
database and vectors and a hard-linked copy of its keyword index, changed document by
document, then sealed with its manifest."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from service.store import layout, vector_index
from service.store.keyword_index import KeywordIndex
from service.store.reader import document_record
from service.store.records import DocumentRecord, FailureRecord, NewChunk, PageRecord


class StagingGeneration:
    """An unpublished generation. Only the build holding the build lock writes one."""

    def __init__(self, folder: Path, number: int, base: Path | None, dimension: int) -> None:
        self.folder = folder
        self.number = number
        if base is not None:
            shutil.copy2(base / layout.DATABASE, folder / layout.DATABASE)
            # read in full (not memory-mapped): ids are removed and added in place
            self.vectors: Any = vector_index.faiss.read_index(str(base / layout.VECTORS))
            self.keywords = KeywordIndex.copy_from(base / layout.KEYWORDS,
                                                   folder / layout.KEYWORDS)
        else:
            self.vectors = vector_index.new_vector_index(dimension)
            self.keywords = KeywordIndex.create(folder / layout.KEYWORDS)
        self.conn = layout.connect(folder / layout.DATABASE)
        self._removed_ids: list[int] = []
        self._new_ids: list[int] = []
        self._new_vectors: list[np.ndarray] = []
        self._deleted_rows = False
        self._next_id = int(self.conn.execute(
            "SELECT coalesce(max(id), 0) FROM chunks").fetchone()[0]) + 1

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
        ids = [row[0] for row in self.conn.execute("SELECT id FROM chunks WHERE doc_id = ?",
                                                   (doc_id,))]
        self.keywords.delete(ids)
        self.conn.executemany("DELETE FROM sentences WHERE chunk_id = ?", [(i,) for i in ids])
        self.conn.executemany("DELETE FROM chunk_boxes WHERE chunk_id = ?", [(i,) for i in ids])
        for table, column in (("chunks", "doc_id"), ("pages", "doc_id"), ("documents", "id")):
            self.conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (doc_id,))
        self._removed_ids += ids
        self._deleted_rows = True

    def add_document(self, document: DocumentRecord, pages: Sequence[PageRecord],
                     chunks: Sequence[NewChunk]) -> None:
        values = document.to_dict()
        values["warnings"] = json.dumps(values["warnings"])
        self.conn.execute(layout.insert("documents", layout.DOCUMENT_COLUMNS),
                          [values[c] for c in layout.DOCUMENT_COLUMNS])
        self.conn.executemany(layout.insert("pages", ("doc_id", "number", "label", "text")),
                              [(document.id, p.number, p.label, p.text) for p in pages])
        chunk_sql = layout.insert("chunks", (*layout.CHUNK_COLUMNS, "tokens"))
        for chunk in chunks:
            chunk_id = self._next_id
            self._next_id += 1
            self.conn.execute(chunk_sql, (
                chunk_id, document.id, chunk.ordinal, chunk.page_start, chunk.page_end,
                chunk.page_label, chunk.section, chunk.char_start, chunk.char_end, chunk.text,
                int(chunk.ocr), chunk.tokens))
            self.keywords.add(chunk_id, f"{document.title} {chunk.section} {chunk.text}")
            if chunk.sentence_vectors is not None:
                self.conn.execute("INSERT INTO sentences (chunk_id, spans, vectors) "
                                  "VALUES (?, ?, ?)",
                                  (chunk_id, json.dumps(chunk.sentence_spans),
                                   chunk.sentence_vectors.astype(np.float16).tobytes()))
            if chunk.boxes:
                self.conn.execute("INSERT INTO chunk_boxes (chunk_id, boxes) VALUES (?, ?)",
                                  (chunk_id, json.dumps(chunk.boxes)))
            self._new_ids.append(chunk_id)
            self._new_vectors.append(chunk.vector)

    def counts(self) -> dict[str, int]:
        return {table: int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in ("documents", "chunks", "failures")}

    def finish(self, manifest: dict[str, Any]) -> None:
        """Apply the vector changes, commit, and write the files that make it complete."""
        if self._removed_ids:
            self.vectors.remove_ids(np.asarray(self._removed_ids, dtype=np.int64))
        if self._new_ids:
            self.vectors.add_with_ids(np.vstack(self._new_vectors).astype(np.float32, copy=False),
                                      np.asarray(self._new_ids, dtype=np.int64))
        self.vectors = vector_index.fit_vector_index(self.vectors)  # exact or IVF, by size
        self.keywords.commit()
        self.conn.commit()
        if self._deleted_rows:
            self.conn.execute("VACUUM")  # deleted rows would otherwise bloat every later copy
        self.close()
        vector_index.faiss.write_index(self.vectors, str(self.folder / layout.VECTORS))
        manifest = {**manifest, "format_version": layout.FORMAT_VERSION,
                    "vector_index": vector_index.kind(self.vectors),
                    "files": layout.file_records(self.folder),
                    "versions": {**manifest.get("versions", {}), **layout.store_versions()}}
        (self.folder / layout.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")

    def close(self) -> None:
        self.conn.close()  # a no-op when already closed
