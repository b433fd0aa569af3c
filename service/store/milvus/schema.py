"""The Milvus data model: which collections a generation has, their fields and
indexes, and how records become rows and back. The one place that names a field.

A generation `gen-000007` is four collections: `<prefix>_g000007_chunks` (text, BM25
sparse vector, dense vector, attribution and sentence vectors: one query fetches what
search and highlighting need), `_documents`, `_pages` and `_failures`. `<prefix>_meta`
holds each published generation's manifest and bad mark, and the alias `<prefix>`
points at the live generation's chunks collection."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import numpy as np
from pymilvus import DataType, Function, FunctionType, MilvusClient

from service.store.records import ChunkBox, ChunkRow, DocumentRecord, FailureRecord, NewChunk

KINDS = ("chunks", "documents", "pages", "failures")
VARCHAR_MAX = 65_535  # bytes: Milvus's largest VARCHAR
PAGE_PART_CHARS = 16_000  # 4-byte UTF-8 at worst still fits one VARCHAR
# Milvus wants a vector field in every collection: the small ones carry this one
SLOT = "slot"
SLOT_VALUE = [1.0, 0.0]
# above this many chunks, HNSW instead of exact search (FAISS's threshold in the
# embedded store: vector_index.ANN_THRESHOLD)
ANN_THRESHOLD = 150_000
CHUNK_OUTPUT = ("id", "doc_id", "ordinal", "page_start", "page_end", "section", "char_start",
                "char_end", "text", "ocr", "place")
# what the analyser does: whitespace-separated words that Plansearch already
# normalised (see analysis.py), lowercased again for safety
ANALYZER = {"tokenizer": "standard", "filter": ["lowercase"]}


def collection(prefix: str, number: int, kind: str) -> str:
    return f"{prefix}_g{number:06d}_{kind}"


def generation_name(number: int) -> str:
    return f"gen-{number:06d}"


def generation_number(name: str) -> int:
    match = re.fullmatch(r"gen-(\d{6})", name)
    if not match:
        raise ValueError(f"not a generation name: {name!r}")
    return int(match.group(1))


def number_of(collection_name: str, prefix: str) -> int | None:
    """The generation number of one of its collections' names, or None."""
    match = re.fullmatch(rf"{re.escape(prefix)}_g(\d{{6}})_[a-z]+", collection_name)
    return int(match.group(1)) if match else None


def create_chunks(client: MilvusClient, name: str, dimension: int) -> None:
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=256)
    schema.add_field("area", DataType.VARCHAR, max_length=512)
    for field in ("ordinal", "page_start", "page_end", "char_start", "char_end"):
        schema.add_field(field, DataType.INT64)
    schema.add_field("ocr", DataType.BOOL)
    schema.add_field("section", DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_field("text", DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_field("terms", DataType.VARCHAR, max_length=VARCHAR_MAX, enable_analyzer=True,
                     analyzer_params=ANALYZER)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("place", DataType.JSON)  # page label, sentence spans, boxes
    schema.add_field("sentences", DataType.VARCHAR, max_length=VARCHAR_MAX)  # float16, base64
    schema.add_function(Function(name="terms_bm25", function_type=FunctionType.BM25,
                                 input_field_names=["terms"], output_field_names=["sparse"]))
    client.create_collection(name, schema=schema)


def index_chunks(client: MilvusClient, name: str, count: int, wait: bool = True) -> None:
    """Exact inner product (as FAISS's flat index) until the collection is large."""
    params = client.prepare_index_params()
    if count > ANN_THRESHOLD:
        params.add_index("dense", index_type="HNSW", metric_type="IP",
                         params={"M": 16, "efConstruction": 200})
    else:
        params.add_index("dense", index_type="FLAT", metric_type="IP")
    # SQLite FTS5's constants. Sent as one JSON `params` entry (the older wire form, which
    # servers still read) because Milvus Lite 3.2 ignores the flattened keys pymilvus 3
    # sends, and would score with k1 = 1.5.
    params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                     params={"params": {"bm25_k1": 1.2, "bm25_b": 0.75}})
    client.create_index(name, params, sync=wait)


def create_small(client: MilvusClient, name: str, wait: bool = True) -> None:
    """A collection of JSON records under a string key (documents, pages, failures,
    meta), with the placeholder vector Milvus insists on."""
    schema = client.create_schema(auto_id=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=1024)
    schema.add_field("owner", DataType.VARCHAR, max_length=1024)  # doc id, or ""
    schema.add_field("body", DataType.JSON)
    schema.add_field("text", DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_field(SLOT, DataType.FLOAT_VECTOR, dim=len(SLOT_VALUE))
    client.create_collection(name, schema=schema)
    params = client.prepare_index_params()
    params.add_index(SLOT, index_type="FLAT", metric_type="IP")
    client.create_index(name, params, sync=wait)


def small_row(key: str, owner: str, body: dict[str, Any], text: str = "") -> dict[str, Any]:
    return {"key": key, "owner": owner, "body": body, "text": text, SLOT: SLOT_VALUE}


def document_row(document: DocumentRecord) -> dict[str, Any]:
    return small_row(document.id, document.id, document.to_dict())


def document_from(row: dict[str, Any]) -> DocumentRecord:
    values = dict(row["body"])
    values["warnings"] = tuple(values.get("warnings") or ())
    values["active_content"] = tuple(values.get("active_content") or ())
    return DocumentRecord(**values)


def failure_row(failure: FailureRecord) -> dict[str, Any]:
    return small_row(failure.path, "", {"path": failure.path, "reason": failure.reason,
                                        "sha256": failure.sha256,
                                        "failed_at": failure.failed_at})


def page_rows(doc_id: str, number: int, label: str | None, text: str) -> list[dict[str, Any]]:
    """A page as one row per part: VARCHAR has a byte limit that a page can pass."""
    parts = [text[i:i + PAGE_PART_CHARS] for i in range(0, len(text), PAGE_PART_CHARS)] or [""]
    return [small_row(f"{doc_id}:{number:06d}:{part:03d}", doc_id,
                      {"number": number, "label": label, "part": part}, piece)
            for part, piece in enumerate(parts)]


def chunk_row(chunk_id: int, document: DocumentRecord, chunk: NewChunk, terms: str
              ) -> dict[str, Any]:
    spans, sentences = chunk.sentence_spans, ""
    if chunk.sentence_vectors is not None:
        sentences = base64.b64encode(chunk.sentence_vectors.astype(np.float16).tobytes()).decode()
        if len(sentences) > VARCHAR_MAX:  # a very long chunk: highlight it without them
            spans, sentences = [], ""
    return {
        "id": chunk_id, "doc_id": document.id, "area": document.area or "",
        "ordinal": chunk.ordinal, "page_start": chunk.page_start, "page_end": chunk.page_end,
        "char_start": chunk.char_start, "char_end": chunk.char_end, "ocr": chunk.ocr,
        "section": clip(chunk.section), "text": chunk.text, "terms": clip(terms),
        "dense": np.asarray(chunk.vector, dtype=np.float32).tolist(),
        "place": {"page_label": chunk.page_label, "spans": [list(s) for s in spans],
                  "boxes": [list(b) for b in chunk.boxes]},
        "sentences": sentences,
    }


def chunk_from(row: dict[str, Any]) -> ChunkRow:
    return ChunkRow(ordinal=int(row["ordinal"]), page_start=int(row["page_start"]),
                    page_end=int(row["page_end"]), page_label=row["place"].get("page_label"),
                    section=row["section"], char_start=int(row["char_start"]),
                    char_end=int(row["char_end"]), text=row["text"], id=int(row["id"]),
                    doc_id=row["doc_id"], ocr=bool(row["ocr"]))


def boxes_from(row: dict[str, Any]) -> list[ChunkBox]:
    return [(int(page), float(x0), float(top), float(x1), float(bottom))
            for page, x0, top, x1, bottom in row["place"].get("boxes") or ()]


def sentences_from(row: dict[str, Any], dimension: int
                   ) -> tuple[list[tuple[int, int]], np.ndarray] | None:
    if not row.get("sentences"):
        return None
    vectors = np.frombuffer(base64.b64decode(row["sentences"]), dtype=np.float16)
    return ([(int(a), int(b)) for a, b in row["place"]["spans"]],
            vectors.astype(np.float32).reshape(-1, dimension))


def clip(text: str, limit: int = VARCHAR_MAX) -> str:
    """Cut to the VARCHAR byte limit on a character boundary."""
    encoded = text.encode()
    return text if len(encoded) <= limit else encoded[:limit].decode(errors="ignore")


def quoted(values: list[str] | tuple[str, ...]) -> str:
    """A Milvus filter list of strings: JSON's escaping is the filter language's."""
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"
