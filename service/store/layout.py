"""The on-disk format of one embedded generation: its files, its SQLite schema and its
manifest (docs/operations.md, "The index on disk", describes them for people)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from importlib import metadata
from pathlib import Path
from typing import Any

from service.store.keyword_index import index_files
from service.store.records import IncompatibleIndex, IndexNotReady

MANIFEST = "manifest.json"
# the generation's own small database: documents, failures, segments, tombstones
DATABASE = "index.sqlite"
# immutable segments, each written by one build and hard-linked into later generations
SEGMENTS = "segments"
SEGMENT_DATABASE = "data.sqlite"  # chunk text, pages, sentence vectors and boxes
VECTORS = "vectors.faiss"  # the segment's chunk vectors
KEYWORDS = "keywords"  # the tantivy index's folder (keyword_index.py)
# 3: chunks.ocr and chunk_boxes; 4: immutable segments shared between generations, and
# tantivy keywords instead of an FTS5 table
FORMAT_VERSION = 4
# at load, checksums are compared only up to this many bytes a generation (sizes always)
CHEAP_CHECKSUM_BYTES = 256 * 1024 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, path TEXT UNIQUE NOT NULL, title TEXT NOT NULL, area TEXT,
    source_url TEXT, published TEXT, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    pages INTEGER NOT NULL, chunks INTEGER NOT NULL, indexed_at TEXT NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]', segment TEXT NOT NULL, publisher TEXT, doc_type TEXT,
    active_content TEXT, indexed_title TEXT
);
CREATE TABLE IF NOT EXISTS failures (
    path TEXT PRIMARY KEY, reason TEXT NOT NULL, sha256 TEXT NOT NULL, failed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS segments (
    name TEXT PRIMARY KEY, chunks INTEGER NOT NULL, min_id INTEGER NOT NULL,
    max_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deleted (
    chunk_id INTEGER PRIMARY KEY, segment TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
SEGMENT_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    doc_id TEXT NOT NULL, number INTEGER NOT NULL, label TEXT, text TEXT NOT NULL,
    PRIMARY KEY (doc_id, number)
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
    page_start INTEGER NOT NULL, page_end INTEGER NOT NULL, page_label TEXT,
    section TEXT NOT NULL, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL,
    text TEXT NOT NULL, tokens INTEGER NOT NULL, ocr INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks (doc_id, ordinal);
CREATE TABLE IF NOT EXISTS sentences (
    chunk_id INTEGER PRIMARY KEY, spans TEXT NOT NULL, vectors BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS chunk_boxes (
    chunk_id INTEGER PRIMARY KEY, boxes TEXT NOT NULL
);
"""
CHUNK_COLUMNS = ("id", "doc_id", "ordinal", "page_start", "page_end", "page_label", "section",
                 "char_start", "char_end", "text", "ocr")
DOCUMENT_COLUMNS = ("id", "path", "title", "area", "source_url", "published", "sha256", "size",
                    "pages", "chunks", "indexed_at", "warnings", "publisher", "doc_type",
                    "active_content", "indexed_title")
# columns added to the documents table since format 4 first shipped: a generation built
# before them reads them as NULL, and a build on top of it adds them to its copy.
# active_content is a JSON list, like warnings (NULL: none recorded)
ADDED_DOCUMENT_COLUMNS = ("publisher", "doc_type", "active_content", "indexed_title")


def connect(path: Path, read_only: bool = False, schema: str = SCHEMA) -> sqlite3.Connection:
    if read_only:
        # immutable: generations never change once published, so skip all locking
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True,
                               check_same_thread=False)
    else:
        conn = sqlite3.connect(path)
        conn.executescript(schema)
    conn.row_factory = sqlite3.Row
    return conn


def add_missing_columns(conn: sqlite3.Connection) -> None:
    """Bring a copied documents table up to this schema (nullable columns only)."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(documents)")}
    for column in ADDED_DOCUMENT_COLUMNS:
        if column not in present:
            conn.execute(f"ALTER TABLE documents ADD COLUMN {column} TEXT")


def insert(table: str, columns: tuple[str, ...]) -> str:
    """An INSERT naming its columns, so the schema's column order never matters."""
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def read_manifest(generation: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((generation / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise IndexNotReady(f"{generation.name}: unreadable manifest ({error})") from None
    return manifest


def store_versions() -> dict[str, str]:
    import faiss

    return {"faiss": faiss.__version__, "sqlite": sqlite3.sqlite_version,
            "tantivy": metadata.version("tantivy")}


def check_format(manifest: dict[str, Any]) -> None:
    """Refuse another format's files before opening any: they may not be there at all."""
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IncompatibleIndex(
            f"index format {manifest.get('format_version')} is not {FORMAT_VERSION}; "
            "rebuild with `python scripts/build_index.py --full`")


def check_model(manifest: dict[str, Any], model_name: str) -> None:
    """Refuse to search vectors made by another model: the scores would be meaningless."""
    check_format(manifest)
    if manifest.get("model") != model_name:
        raise IncompatibleIndex(
            f"the index was built with model {manifest.get('model')!r} but {model_name!r} is "
            "configured; rebuild with `python scripts/build_index.py --full "
            f"--model {model_name}` or configure the index's model")


def file_record(path: Path) -> dict[str, Any]:
    """A file's size and sha256, as the manifest records them."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def segment_files(name: str) -> tuple[str, str]:
    """A segment's database and vectors, as paths relative to a generation folder."""
    return f"{SEGMENTS}/{name}/{SEGMENT_DATABASE}", f"{SEGMENTS}/{name}/{VECTORS}"


def file_records(folder: Path, segments: list[str],
                 known: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Size and checksum of every file of a generation, by path within it: its database,
    its segments' files and the keyword index's files. Files hard-linked from the base
    generation keep the records it already made (`known`): publishing then reads only
    what this build wrote."""
    names = [DATABASE, *(path for name in segments for path in segment_files(name)),
             *(f"{KEYWORDS}/{file}" for file in index_files(folder / KEYWORDS))]
    return {name: known[name] if name in known and
            known[name]["size"] == (folder / name).stat().st_size else file_record(folder / name)
            for name in names}


def check_sizes(folder: Path, manifest: dict[str, Any]) -> None:
    """Cheap (one stat a file): a truncated or grown file is damage. Manifests written
    before sizes were recorded pass."""
    for name, expected in manifest.get("files", {}).items():
        try:
            size = (folder / name).stat().st_size
        except OSError as error:
            raise IndexNotReady(f"{folder.name}: {name} is unreadable ({error})") from None
        if size != expected["size"]:
            raise IndexNotReady(f"{folder.name}: {name} is {size} bytes but the manifest "
                                f"says {expected['size']}")


def check_checksums(folder: Path, manifest: dict[str, Any], thorough: bool,
                    trusted: frozenset[str] = frozenset()) -> bool:
    """Compare every recorded checksum, unless the files are too big to read at every
    load and `thorough` is not asked for. True when they were compared. `trusted` files
    (hard-linked from a generation that was verified when it was published) are skipped."""
    files = {name: record for name, record in manifest.get("files", {}).items()
             if name not in trusted}
    if not thorough and sum(f["size"] for f in files.values()) > CHEAP_CHECKSUM_BYTES:
        return False
    for name, expected in files.items():
        if file_record(folder / name)["sha256"] != expected["sha256"]:
            raise IndexNotReady(f"{folder.name}: {name} does not match its checksum")
    return True
