"""Writing a new Milvus generation: fresh collections, filled with a copy of the base
generation's rows (cloned, not changed in place: the live generation stays exactly as
it was for readers and for rollback), then changed document by document."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from service.store.layout import FORMAT_VERSION
from service.store.milvus import schema
from service.store.milvus.analysis import chunk_terms, common_words, words_of
from service.store.milvus.connection import Link
from service.store.milvus.reader import ID_BATCH, QUERY_CAP, id_windows, query_all
from service.store.records import DocumentRecord, FailureRecord, NewChunk, PageRecord

INSERT_BATCH = 512  # chunk rows sent to Milvus in one insert
COPIED_FIELDS = tuple(f for f in (*schema.CHUNK_OUTPUT, "area", "terms", "dense", "sentences")
                      if f != "sparse")
STRONG = {"consistency_level": "Strong"}  # a build reads back what it just wrote


class MilvusStaging:
    """An unpublished generation. Only the build holding the build lock writes one."""

    def __init__(self, link: Link, prefix: str, number: int, base: int | None,
                 dimension: int, base_manifest: dict[str, Any] | None = None) -> None:
        self.link = link
        self.number = number
        self.name = schema.generation_name(number)
        self.collections = {kind: schema.collection(prefix, number, kind)
                            for kind in schema.KINDS}
        self.manifest: dict[str, Any] = {}
        self._pending: list[dict[str, Any]] = []
        self._chunk_ids: dict[str, list[int]] = defaultdict(list)  # by document id
        self._next_id = 1
        self._frequencies: Counter[str] = Counter()  # chunks each word is in
        with link.guard(f"{self.name}: creating collections") as client:
            for kind, name in self.collections.items():
                if client.has_collection(name):  # left by a build that crashed
                    client.drop_collection(name)
                if kind == "chunks":
                    schema.create_chunks(client, name, dimension)
                    schema.index_chunks(client, name, 0, link.waits_for_indexes)
                else:
                    schema.create_small(client, name, link.waits_for_indexes)
                client.load_collection(name)
        if base is not None:
            self._copy({kind: schema.collection(prefix, base, kind) for kind in schema.KINDS},
                       int((base_manifest or {}).get("last_chunk_id", 0)))

    def _copy(self, source: dict[str, str], last_chunk_id: int) -> None:
        """Clone the base generation (the BM25 vectors are recomputed from the stored
        terms: Milvus derives them on insert)."""
        small = ["key", "owner", "body", "text", schema.SLOT]
        with self.link.guard(f"{self.name}: copying the base generation") as client:
            for kind, name in source.items():
                client.load_collection(name)
                if kind != "chunks":
                    rows = query_all(client, name, 'key != ""', small)
                    for start in range(0, len(rows), INSERT_BATCH):
                        client.insert(self.collections[kind], rows[start:start + INSERT_BATCH])
                    continue
                for window in id_windows(last_chunk_id):
                    batch = client.query(name, filter=window, output_fields=list(COPIED_FIELDS),
                                         limit=QUERY_CAP)
                    for start in range(0, len(batch), INSERT_BATCH):
                        client.insert(self.collections[kind], batch[start:start + INSERT_BATCH])
                    for row in batch:
                        self._frequencies.update(words_of(row["terms"]))
                        self._chunk_ids[row["doc_id"]].append(int(row["id"]))
                self._next_id = last_chunk_id + 1

    def _all(self, kind: str) -> list[dict[str, Any]]:
        self._flush()
        with self.link.guard(f"{self.name}: reading {kind}") as client:
            return query_all(client, self.collections[kind], 'key != ""', ["body"], **STRONG)

    def documents(self) -> dict[str, DocumentRecord]:
        found = (schema.document_from(r) for r in self._all("documents"))
        return {document.path: document for document in found}

    def failures(self) -> dict[str, FailureRecord]:
        return {r["body"]["path"]: FailureRecord(**r["body"]) for r in self._all("failures")}

    def record_failure(self, failure: FailureRecord) -> None:
        with self.link.guard(f"{self.name}: recording a failure") as client:
            client.upsert(self.collections["failures"], [schema.failure_row(failure)])

    def clear_failure(self, path: str) -> None:
        with self.link.guard(f"{self.name}: clearing a failure") as client:
            client.delete(self.collections["failures"], ids=[path])

    def delete_document(self, doc_id: str) -> None:
        self._flush()
        owner = f"owner == {schema.quoted([doc_id])[1:-1]}"
        with self.link.guard(f"{self.name}: deleting {doc_id}") as client:
            ids = self._chunk_ids.pop(doc_id, [])
            for start in range(0, len(ids), ID_BATCH):
                batch = ids[start:start + ID_BATCH]
                for row in client.query(self.collections["chunks"], filter=f"id in {batch}",
                                        output_fields=["terms"], limit=len(batch), **STRONG):
                    self._frequencies.subtract(words_of(row["terms"]))
                client.delete(self.collections["chunks"], ids=batch)
            client.delete(self.collections["pages"], filter=owner)
            client.delete(self.collections["documents"], ids=[doc_id])

    def add_document(self, document: DocumentRecord, pages: Sequence[PageRecord],
                     chunks: Sequence[NewChunk]) -> None:
        page_rows = [row for p in pages for row in schema.page_rows(document.id, p.number,
                                                                    p.label, p.text)]
        with self.link.guard(f"{self.name}: adding {document.id}") as client:
            client.upsert(self.collections["documents"], [schema.document_row(document)])
            for start in range(0, len(page_rows), INSERT_BATCH):
                client.insert(self.collections["pages"], page_rows[start:start + INSERT_BATCH])
        for chunk in chunks:
            terms = chunk_terms(document.keyword_title, chunk.section, chunk.text)
            self._frequencies.update(words_of(terms))
            self._pending.append(schema.chunk_row(self._next_id, document, chunk, terms))
            self._chunk_ids[document.id].append(self._next_id)
            self._next_id += 1
        if len(self._pending) >= INSERT_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            with self.link.guard(f"{self.name}: inserting chunks") as client:
                client.insert(self.collections["chunks"], self._pending)
            self._pending = []

    def _count(self, kind: str) -> int:
        with self.link.guard(f"{self.name}: counting {kind}") as client:
            rows = client.query(self.collections[kind], filter="",
                                output_fields=["count(*)"], **STRONG)
        return int(rows[0]["count(*)"])

    def counts(self) -> dict[str, int]:
        self._flush()
        return {kind: self._count(kind) for kind in ("documents", "chunks", "failures")}

    def finish(self, manifest: dict[str, Any]) -> None:
        """Persist the rows, index the vectors for the generation's size, and keep the
        manifest for publishing."""
        self._flush()
        count = self._count("chunks")
        with self.link.guard(f"{self.name}: indexing") as client:
            for name in self.collections.values():
                client.flush(name)
            if count > schema.ANN_THRESHOLD:
                chunks = self.collections["chunks"]
                client.release_collection(chunks)
                for index in client.list_indexes(chunks):
                    if index in client.list_indexes(chunks):  # Lite drops them all at once
                        client.drop_index(chunks, index)
                schema.index_chunks(client, chunks, count, self.link.waits_for_indexes)
                client.load_collection(chunks)
        self.manifest = {**manifest, "format_version": FORMAT_VERSION, "backend": "milvus",
                         "collections": self.collections,
                         "vector_index": "HNSW" if count > schema.ANN_THRESHOLD else "FLAT",
                         "keyword_common_words": common_words(self._frequencies, count),
                         "last_chunk_id": self._next_id - 1,
                         "versions": {**manifest.get("versions", {}), **versions()}}

    def close(self) -> None:
        """Nothing to free: the connection belongs to the store."""


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("pymilvus", "milvus-lite"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue  # a server deployment needs no milvus-lite
    return found
