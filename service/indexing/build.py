"""Corpus folder to a published index generation, incrementally and atomically."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from service.store import generations, vector_index

from service.store import sqlite as store
from service.areas import Gazetteer
from service.embedding.sentences import sentence_spans
from service.indexing.chunking import ChunkSettings, chunk_document, embedding_text
from service.indexing.corpus import CorpusFile, scan_corpus
from service.indexing.documents import Document, ReadError, document_id
from service.embedding.models import Embedder
from service.store.keywords import index_terms

log = logging.getLogger(__name__)

ReadFunction = Callable[[Path, str], Document]
Progress = Callable[[int, int], None]  # (done, total) chunks embedded


@dataclass
class BuildReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    chunks: int = 0
    embedded_chunks: int = 0
    seconds: float = 0.0
    generation: str | None = None
    full_rebuild_reason: str | None = None
    failures_changed: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.failures_changed)

    def summary(self) -> dict[str, Any]:
        """The --json summary: counts for the document lists, the failures in full."""
        values = asdict(self)
        del values["failures_changed"]
        for key in ("added", "updated", "removed", "unchanged"):
            values[f"{key}_paths"] = values[key]
            values[key] = len(values[key])
        return values


@dataclass
class ReadDocument:
    file: CorpusFile
    document: Document
    title: str
    area: str | None


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def resolve_metadata(document: Document, file: CorpusFile, gazetteer: Gazetteer
                     ) -> tuple[str, str | None]:
    """Title: front matter, PDF metadata, first heading, file name. Area: front matter,
    else the footprint the gazetteer finds the document is about."""
    title = (document.meta.title or document.first_heading()
             or Path(file.relative).stem.replace("-", " ").replace("_", " ").strip().capitalize())
    if document.meta.area:
        return title, gazetteer.canonical(document.meta.area) or document.meta.area
    return title, gazetteer.detect_document_area(document.text[:200_000], title)


def manifest_for(embedder: Embedder, settings: ChunkSettings, counts: dict[str, int],
                 vectors: Any) -> dict[str, Any]:
    import sqlite3

    import pdfplumber

    return {
        "format_version": store.FORMAT_VERSION,
        "model": embedder.name,
        "dimension": embedder.dimension,
        "max_seq_length": embedder.max_seq_length,
        "chunker": settings.as_dict(),
        "vector_index": vector_index.kind(vectors),
        "counts": counts,
        "built_at": now(),
        "versions": {"faiss": faiss.__version__, "pdfplumber": pdfplumber.__version__,
                     "sqlite": sqlite3.sqlite_version, "numpy": np.__version__},
    }


def reuse_reason(previous: Path | None, embedder: Embedder, settings: ChunkSettings
                 ) -> str | None:
    """Why the previous generation can't be extended (so everything is re-embedded)."""
    if previous is None:
        return None
    try:
        manifest = store.read_manifest(previous)
    except store.IndexNotReady as error:
        return f"previous index unreadable: {error}"
    if manifest.get("format_version") != store.FORMAT_VERSION:
        return f"index format changed ({manifest.get('format_version')} -> {store.FORMAT_VERSION})"
    if manifest.get("model") != embedder.name:
        return f"model changed ({manifest.get('model')} -> {embedder.name})"
    if manifest.get("chunker") != settings.as_dict():
        return f"chunker settings changed ({manifest.get('chunker')} -> {settings.as_dict()})"
    return None


def build_index(corpus_dir: Path, index_dir: Path, embedder: Embedder, *, full: bool = False,
                settings: ChunkSettings | None = None, read: ReadFunction | None = None,
                progress: Progress | None = None, keep_generations: int = 2) -> BuildReport:
    """Bring the index up to date with the corpus and publish a new generation."""
    from service.indexing.parsing import read_document_safely

    started = time.perf_counter()
    settings = settings or default_settings(embedder)
    read = read or read_document_safely
    report = BuildReport()
    with generations.build_lock(index_dir):
        previous = generations.current_generation(index_dir)
        if previous is not None and not full:
            report.full_rebuild_reason = reuse_reason(previous, embedder, settings)
            full = report.full_rebuild_reason is not None
        elif previous is not None:
            report.full_rebuild_reason = "--full requested"
        number = generations.next_generation_number(index_dir)
        staging = index_dir / f"staging-{number:06d}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            earlier = indexed_paths(previous) if full and previous is not None else set()
            _build_into(staging, previous if not full else None, corpus_dir, embedder, settings,
                        read, progress, report, earlier)
            if previous is not None and not full and not report.changed:
                # nothing to publish: a new generation would only make servers reload
                shutil.rmtree(staging)
                report.generation = previous.name
            else:
                report.generation = generations.publish(index_dir, staging, number).name
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        generations.prune(index_dir, keep=keep_generations)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def default_settings(embedder: Embedder) -> ChunkSettings:
    """The default passage size, unless the model's window is too small for it plus the
    title-and-section context."""
    from service.indexing.chunking import MAX_CONTEXT_TOKENS

    room = embedder.max_seq_length - 2 - MAX_CONTEXT_TOKENS
    return ChunkSettings(chunk_tokens=max(32, min(ChunkSettings.chunk_tokens, room)))


def indexed_paths(generation: Path) -> set[str]:
    """Documents in a generation, so a full rebuild can still say updated and removed."""
    try:
        conn = store.connect(generation / store.DATABASE, read_only=True)
        try:
            return {row[0] for row in conn.execute("SELECT path FROM documents")}
        finally:
            conn.close()
    except Exception:  # a damaged generation is why we rebuild: it just can't tell us
        return set()


def _build_into(staging: Path, previous: Path | None, corpus_dir: Path, embedder: Embedder,
                settings: ChunkSettings, read: ReadFunction, progress: Progress | None,
                report: BuildReport, earlier: set[str] | None = None) -> None:
    earlier = earlier or set()

    if previous is not None:
        shutil.copy2(previous / store.DATABASE, staging / store.DATABASE)
        vectors: Any = faiss.read_index(str(previous / store.VECTORS))  # stubs lack remove_ids
    else:
        vectors = store.new_vector_index(embedder.dimension)
    conn = store.connect(staging / store.DATABASE)
    gazetteer = Gazetteer.load()
    known = {row["path"]: row for row in conn.execute("SELECT id, path, sha256 FROM documents")}
    failed_before = {row["path"]: row for row in conn.execute("SELECT * FROM failures")}
    files = scan_corpus(corpus_dir)
    present = {file.relative for file in files}
    report.removed.extend(sorted(earlier - present))

    to_read: list[CorpusFile] = []
    for file in files:
        row = known.get(file.relative)
        if row is not None and row["sha256"] == file.sha256:
            report.unchanged.append(file.relative)
        elif row is None and file.relative in failed_before and \
                failed_before[file.relative]["sha256"] == file.sha256:
            # the same bytes failed last time; don't pay for parsing them again
            report.failed.append({"path": file.relative,
                                  "reason": failed_before[file.relative]["reason"]})
        else:
            to_read.append(file)

    removed_ids: list[int] = []
    for path, row in known.items():
        if path not in present:
            removed_ids += _delete_document(conn, row["id"])
            report.removed.append(path)
    stale_failures = [path for path in failed_before if path not in present]
    conn.executemany("DELETE FROM failures WHERE path = ?", [(p,) for p in stale_failures])

    ready: list[ReadDocument] = []
    for file in to_read:
        try:
            document = read(file.path, file.relative)
        except ReadError as error:
            reason = str(error)
            report.failed.append({"path": file.relative, "reason": reason})
            conn.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?)",
                         (file.relative, reason, file.sha256, now()))
            if file.relative in known:
                report.warnings.append(f"{file.relative}: the changed file could not be read "
                                       f"({reason}); its previous version stays in the index")
            continue
        conn.execute("DELETE FROM failures WHERE path = ?", (file.relative,))
        title, area = resolve_metadata(document, file, gazetteer)
        ready.append(ReadDocument(file, document, title, area))
        report.warnings.extend(f"{file.relative}: {w}" for w in document.warnings)

    planned = []
    for item in ready:
        chunks = chunk_document(item.document, embedder.count_tokens, settings)
        planned.append((item, chunks))
    texts = [embedding_text(item.title, c.section, c.text, embedder.count_tokens, settings)
             for item, chunks in planned for c in chunks]
    spans = [sentence_spans(c.text) for _, chunks in planned for c in chunks]
    # the chunk text ends the embedded text, after the "title > section" line
    lengths = [len(c.text) for _, chunks in planned for c in chunks]
    shifted = [[(a + len(t) - n, b + len(t) - n) for a, b in chunk_spans]
               for t, n, chunk_spans in zip(texts, lengths, spans, strict=True)]
    embeddings, sentence_vectors = _embed(embedder, texts, shifted, progress)
    report.embedded_chunks = len(texts)

    next_id = int(conn.execute("SELECT coalesce(max(id), 0) FROM chunks").fetchone()[0]) + 1
    new_ids: list[int] = []
    position = 0  # index into texts/spans/sentence_vectors
    for item, chunks in planned:
        doc_id = document_id(item.file.relative)
        if item.file.relative in known:
            removed_ids += _delete_document(conn, doc_id)
            report.updated.append(item.file.relative)
        elif item.file.relative in earlier:
            report.updated.append(item.file.relative)
        else:
            report.added.append(item.file.relative)
        _insert_document(conn, doc_id, item, len(chunks))
        for chunk in chunks:
            label = next((p.label for p in item.document.pages if p.number == chunk.page_start),
                         None)
            conn.execute("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                         (next_id, doc_id, chunk.ordinal, chunk.page_start, chunk.page_end,
                          label, chunk.section, chunk.char_start, chunk.char_end, chunk.text,
                          embedder.count_tokens(chunk.text) - 2))
            conn.execute("INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)",
                         (next_id, index_terms(f"{item.title} {chunk.section} {chunk.text}")))
            if sentence_vectors is not None:
                conn.execute("INSERT INTO sentences VALUES (?, ?, ?)",
                             (next_id, json.dumps(spans[position]),
                              sentence_vectors[position].astype(np.float16).tobytes()))
            new_ids.append(next_id)
            next_id += 1
            position += 1

    if removed_ids:
        vectors.remove_ids(np.asarray(removed_ids, dtype=np.int64))
    if new_ids:
        vectors.add_with_ids(embeddings, np.asarray(new_ids, dtype=np.int64))
    vectors = vector_index.fit_vector_index(vectors)  # exact or IVF, by size
    report.failures_changed = bool(stale_failures) or any(
        f["path"] not in failed_before for f in report.failed)
    report.chunks = int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])
    documents = int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
    conn.commit()
    if report.removed or report.updated:
        conn.execute("VACUUM")  # deleted rows would otherwise bloat every later copy
    conn.close()
    faiss.write_index(vectors, str(staging / store.VECTORS))
    counts = {"documents": documents, "chunks": report.chunks, "failed": len(report.failed)}
    manifest = manifest_for(embedder, settings, counts, vectors)
    (staging / store.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _embed(embedder: Embedder, texts: list[str], spans: list[list[tuple[int, int]]],
           progress: Progress | None) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """Embed in slices so a progress bar can move; the model batches within each slice.
    Sentence vectors come from the same pass when the embedder can give them; `spans`
    are character offsets into each embedded text."""
    with_sentences = hasattr(embedder, "embed_with_sentences")
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32), []
    parts: list[np.ndarray] = []
    sentences: list[np.ndarray] = []
    step = 256
    for start in range(0, len(texts), step):
        batch = texts[start:start + step]
        if with_sentences:
            vectors, pooled = embedder.embed_with_sentences(  # type: ignore[attr-defined]
                batch, spans[start:start + step])
            parts.append(vectors)
            sentences.extend(pooled)
        else:
            parts.append(embedder.embed_documents(batch))
        if progress:
            progress(min(start + step, len(texts)), len(texts))
    return np.vstack(parts), (sentences if with_sentences else None)


def _delete_document(conn: Any, doc_id: str) -> list[int]:
    ids = [row[0] for row in conn.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
    conn.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(i,) for i in ids])
    conn.executemany("DELETE FROM sentences WHERE chunk_id = ?", [(i,) for i in ids])
    conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
    conn.execute("DELETE FROM pages WHERE doc_id = ?", (doc_id,))
    conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
    return ids


def _insert_document(conn: Any, doc_id: str, item: ReadDocument, chunk_count: int) -> None:
    meta = item.document.meta
    conn.execute("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                 (doc_id, item.file.relative, item.title, item.area, meta.source_url,
                  meta.published, item.file.sha256, item.file.size, len(item.document.pages),
                  chunk_count, now(), json.dumps(item.document.warnings)))
    conn.executemany("INSERT INTO pages VALUES (?,?,?,?)",
                     [(doc_id, p.number, p.label, p.text) for p in item.document.pages])
