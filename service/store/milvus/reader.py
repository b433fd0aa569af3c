"""Reading one published Milvus generation: dense and BM25 search in its chunks
collection, attribution and sentence vectors from the same rows, documents and pages
from their own collections."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from service.store.interface import KeywordQuery
from service.store.milvus import schema
from service.store.milvus.analysis import BM25Query, bm25_query
from service.store.milvus.connection import Link
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

QUERY_CAP = 16_384  # Milvus's most rows for one query
ID_WINDOW = 8_000  # chunk ids read a range at a time: ids are dense, so well under the cap
ID_BATCH = 2_000  # ids in one `id in [...]` filter


def query_all(client: Any, collection: str, expression: str, fields: Sequence[str],
              **options: Any) -> list[dict[str, Any]]:
    """Every row matching: one query, or an iterator past the cap (iterators cost an
    extra timestamp call that Milvus Lite doesn't implement, so only when needed)."""
    rows: list[dict[str, Any]] = client.query(collection, filter=expression,
                                              output_fields=list(fields), limit=QUERY_CAP,
                                              **options)
    if len(rows) < QUERY_CAP:
        return rows
    rows = []
    iterator = client.query_iterator(collection, batch_size=QUERY_CAP // 4, filter=expression,
                                     output_fields=list(fields), **options)
    try:
        while batch := iterator.next():
            rows.extend(batch)
    finally:
        iterator.close()
    return rows


def id_windows(last_id: int) -> list[str]:
    """Filters that split chunk ids 1..last_id into ranges each one query can read."""
    return [f"id >= {start} and id < {start + ID_WINDOW}"
            for start in range(1, last_id + 1, ID_WINDOW)]


class MilvusGeneration:
    """A loaded, read-only generation; shared by request threads."""

    def __init__(self, link: Link, prefix: str, name: str, manifest: dict[str, Any]) -> None:
        self.link = link
        self.name = name
        self.manifest = manifest
        number = schema.generation_number(name)
        self.collections = {kind: schema.collection(prefix, number, kind)
                            for kind in schema.KINDS}
        self.dimension = int(manifest.get("dimension") or 0)
        self._loaded_epoch = -1
        self._load_lock = threading.Lock()
        self.chunk_count = self.count("chunks")

    def _client(self) -> Any:
        """The client, after loading the collections on this connection (a restarted
        Milvus, or a Lite folder another process took over, starts with them released)."""
        client = self.link.client()
        if self._loaded_epoch != self.link.epoch:
            with self._load_lock, self.link.guard(f"{self.name}: loading"):
                for collection in self.collections.values():
                    client.load_collection(collection)
                self._loaded_epoch = self.link.epoch
        return client

    def query(self, kind: str, expression: str, fields: Sequence[str]) -> list[dict[str, Any]]:
        """Every row matching `expression`."""
        self._client()
        with self.link.guard(f"{self.name}: reading {kind}") as client:
            return query_all(client, self.collections[kind], expression, fields)

    def by_ids(self, ids: Sequence[int], fields: Sequence[str]) -> list[dict[str, Any]]:
        unique = sorted({int(i) for i in ids})
        rows = []
        for start in range(0, len(unique), ID_BATCH):
            batch = unique[start:start + ID_BATCH]
            self._client()
            with self.link.guard(f"{self.name}: reading chunks") as client:
                rows += client.query(self.collections["chunks"], filter=f"id in {batch}",
                                     output_fields=list(fields), limit=len(batch))
        return rows

    def count(self, kind: str) -> int:
        self._client()
        with self.link.guard(f"{self.name}: counting {kind}") as client:
            rows = client.query(self.collections[kind], filter="",
                                output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def close(self) -> None:
        """Nothing to free: the connection belongs to the store."""

    def verify(self, thorough: bool = False) -> None:
        """The collections answer and hold what the manifest says they hold."""
        counts = self.manifest.get("counts", {})
        found = {"documents": self.count("documents"), "chunks": self.count("chunks")}
        if any(counts.get(kind, found[kind]) != found[kind] for kind in found):
            raise IndexNotReady(f"{self.name}: the manifest's counts {counts} do not match "
                                f"the collections ({found})")

    def changed(self) -> str | None:
        with self.link.guard(f"{self.name}: listing collections") as client:
            missing = [c for c in self.collections.values() if not client.has_collection(c)]
        return f"{self.name}: collections dropped: {', '.join(missing)}" if missing else None

    # --- vectors ------------------------------------------------------------------------
    def _search(self, data: list[Any], field: str, metric: str, k: int,
                allowed: Sequence[int] | None) -> Ranked:
        if k <= 0 or (allowed is not None and not allowed):
            return []
        expression = f"id in {sorted(int(i) for i in allowed)}" if allowed is not None else ""
        self._client()
        with self.link.guard(f"{self.name}: searching") as client:
            hits = client.search(self.collections["chunks"], data=data, anns_field=field,
                                 limit=k, filter=expression, output_fields=["id"],
                                 search_params={"metric_type": metric})[0]
        # Milvus Lite reports BM25 as a negated distance; a server as the score
        return [(int(hit["id"]), abs(float(hit["distance"])) if metric == "BM25"
                 else float(hit["distance"])) for hit in hits]

    def dense(self, vector: np.ndarray, k: int, allowed: Sequence[int] | None = None) -> Ranked:
        """Top-k chunk ids by inner product, optionally only among `allowed` ids."""
        return self._search([np.asarray(vector, np.float32).tolist()], "dense", "IP",
                            min(k, self.chunk_count), allowed)

    def similarities(self, vector: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        rows = self.by_ids(ids, ("id", "dense"))
        return {int(r["id"]): float(np.dot(np.asarray(r["dense"], np.float32), vector))
                for r in rows}

    def sentence_vectors(self, ids: Sequence[int]) -> SentenceVectors:
        found = {}
        for row in self.by_ids(ids, ("id", "place", "sentences")):
            stored = schema.sentences_from(row, self.dimension)
            if stored is not None:
                found[int(row["id"])] = stored
        return found

    def all_sentence_vectors(self) -> Iterator[tuple[int, np.ndarray]]:
        """Every chunk's sentence vectors, read a window of ids at a time (deleted chunks
        are gone from the collection)."""
        for window in id_windows(int(self.manifest.get("last_chunk_id", 0))):
            for row in sorted(self.query("chunks", window, ("id", "place", "sentences")),
                              key=lambda r: int(r["id"])):
                stored = schema.sentences_from(row, self.dimension)
                if stored is not None:
                    yield int(row["id"]), stored[1]

    # --- keywords -----------------------------------------------------------------------
    def keyword_query(self, text: str, synonyms: bool = True, phrases: str = "pairs"
                      ) -> KeywordQuery | None:
        return bm25_query(text, synonyms, phrases)

    def keyword(self, query: KeywordQuery, k: int, allowed: Sequence[int] | None = None
                ) -> Ranked:
        """BM25 top-k over the analysed chunk text."""
        return self._search([tokens(query)], "sparse", "BM25", min(k, self.chunk_count),
                            allowed)

    def keyword_scores(self, query: KeywordQuery, ids: Sequence[int]) -> dict[int, float]:
        """BM25 of chosen chunks; chunks that match no query term score 0."""
        scores = {int(i): 0.0 for i in ids}
        if ids:
            scores.update(self._search([tokens(query)], "sparse", "BM25", len(scores),
                                       list(scores)))
        return scores

    # --- text and attribution ---------------------------------------------------------
    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        return {int(r["id"]): schema.chunk_from(r)
                for r in self.by_ids(ids, schema.CHUNK_OUTPUT)}

    def chunk_boxes(self, ids: Sequence[int]) -> dict[int, list[ChunkBox]]:
        found = {int(r["id"]): schema.boxes_from(r) for r in self.by_ids(ids, ("id", "place"))}
        return {chunk_id: boxes for chunk_id, boxes in found.items() if boxes}

    def chunk_documents(self, ids: Sequence[int]) -> dict[int, str]:
        return {int(r["id"]): r["doc_id"] for r in self.by_ids(ids, ("id", "doc_id"))}

    def chunk_ids_for(self, areas: Sequence[str] = (), documents: Sequence[str] = ()
                      ) -> list[int] | None:
        """Ids of the chunks in these areas and documents (both, when both are given);
        None when neither is given, meaning every chunk."""
        clauses = [f"{field} in {schema.quoted(list(values))}"
                   for field, values in (("area", areas), ("doc_id", documents)) if values]
        if not clauses:
            return None
        found = []
        for window in id_windows(int(self.manifest.get("last_chunk_id", 0))):
            found += self.query("chunks", " and ".join([window, *clauses]), ["id"])
        return sorted(int(r["id"]) for r in found)

    def documents(self) -> list[DocumentRecord]:
        rows = self.query("documents", 'key != ""', ["body"])
        return sorted((schema.document_from(r) for r in rows), key=lambda d: (d.title, d.id))

    def document(self, doc_id: str) -> DocumentRecord | None:
        rows = self.query("documents", f"key == {schema.quoted([doc_id])[1:-1]}", ["body"])
        return schema.document_from(rows[0]) if rows else None

    def failures(self) -> list[FailureRecord]:
        rows = self.query("failures", 'key != ""', ["body"])
        return sorted((FailureRecord(**r["body"]) for r in rows), key=lambda f: f.path)

    def pages(self, doc_id: str, first: int = 1, last: int | None = None
              ) -> list[PageRecord]:
        # the range is applied here, not in Milvus: a page's number is inside its JSON body
        rows = self.query("pages", f"owner == {schema.quoted([doc_id])[1:-1]}",
                          ["key", "body", "text"])
        pages: dict[int, tuple[str | None, list[str]]] = {}
        for row in sorted(rows, key=lambda r: r["key"]):
            number = int(row["body"]["number"])
            if first <= number <= (last or number):
                label, parts = pages.setdefault(number, (row["body"]["label"], []))
                parts.append(row["text"])
        return [PageRecord(number, label, "".join(parts))
                for number, (label, parts) in sorted(pages.items())]


def tokens(query: KeywordQuery) -> str:
    if not isinstance(query, BM25Query):
        raise TypeError(f"not a keyword query of the Milvus store: {query!r}")
    return query.tokens
