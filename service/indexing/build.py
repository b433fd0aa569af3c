"""Corpus folder to a published index generation, incrementally and atomically:
plan (what changed), read (sandboxed parsers), embed (the model), write (the store)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from service.areas import Gazetteer
from service.embedding import Embedder, sentence_spans
from service.indexing.boxes import align_document, chunk_boxes
from service.indexing.chunking import (
    MAX_CONTEXT_TOKENS,
    ChunkSettings,
    chunk_document,
    embedding_text,
)
from service.indexing.corpus import CorpusFile
from service.indexing.documents import Document, ReadError, document_id
from service.indexing.limits import DEFAULT_MAX_DOCUMENT_CHUNKS, chunk_limit_refusal
from service.indexing.pipeline import read_and_embed, reader_for
from service.indexing.plan import ChangePlan, plan_build
from service.indexing.progress import (
    BuildProgress,
    Checkpoints,
    DocumentReader,
    ReadDocument,
    ReadResult,
)
from service.indexing.sandbox import read_document_safely
from service.store import (
    DocumentRecord,
    FailureRecord,
    IndexWriter,
    NewChunk,
    PageRecord,
    Store,
    build_base,
    open_store,
)

EMBED_SLICE = 256  # texts per embedding call, so progress can move

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
    # files read by this build that carry code a viewer would run: {"path", "kinds"}
    active_content: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The --json summary: counts for the document lists, the failures in full."""
        values = asdict(self)
        for key in ("added", "updated", "removed", "unchanged"):
            values[f"{key}_paths"] = values[key]
            values[key] = len(values[key])
        return values


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


def default_settings(embedder: Embedder) -> ChunkSettings:
    """The default passage size, unless the model's window is too small for it plus the
    title-and-section context."""
    room = embedder.max_seq_length - 2 - MAX_CONTEXT_TOKENS
    return ChunkSettings(chunk_tokens=max(32, min(ChunkSettings.chunk_tokens, room)))


def build_index(corpus_dir: Path, index: Store | Path | str, embedder: Embedder, *,
                full: bool = False,
                settings: ChunkSettings | None = None, read: DocumentReader | None = None,
                progress: BuildProgress | None = None, fallbacks: int = 1,
                max_document_chunks: int = DEFAULT_MAX_DOCUMENT_CHUNKS,
                cancelled: Callable[[], bool] | None = None) -> BuildReport:
    """Bring the index (a store, or the folder of the embedded one) up to date with the
    corpus and publish a new generation. A damaged live generation is marked bad and
    the build starts from the newest good one. `cancelled` is asked after each file and
    each embedding slice; when it says yes, BuildCancelled and nothing is published."""
    store = open_store(index) if isinstance(index, str | Path) else index
    started = time.perf_counter()
    settings = settings or default_settings(embedder)
    report = BuildReport()
    with store.build_lock():
        current = store.current()
        base, damage = build_base(store, current)
        if damage is not None:
            report.warnings.append(f"the live index was damaged: {damage}")
        plan = plan_build(store, corpus_dir, embedder, settings, full, base)
        report.full_rebuild_reason = plan.full_rebuild_reason
        if base is None and current is not None and not full:
            report.full_rebuild_reason = "no good generation to build on"
        if progress is not None:
            progress.planned(len(plan.to_read))
        if plan.base is not None and not plan.has_work:
            # nothing to publish: a new generation would only make servers reload
            if plan.base != current:
                store.point_to(plan.base)  # the repair: back to the good generation
            report.unchanged.extend(plan.unchanged)
            report.failed.extend({"path": f.path, "reason": f.reason}
                                 for f in plan.still_failing)
            report.generation = plan.base
        else:
            # staged from the start, so a crash at any point leaves its folder to clean up
            writer = store.begin(plan.base, embedder.dimension)
            try:
                checked = Checkpoints(progress, cancelled)
                results, report.embedded_chunks = read_and_embed(
                    plan.to_read, reader_for(read or read_document_safely, read_item, failed),
                    lambda batch, told: embed_documents(batch, embedder, settings, told,
                                                        max_document_chunks), checked)
                report.warnings.extend(f"{r.file.relative}: {w}" for r in results
                                       if isinstance(r, ReadDocument)
                                       for w in r.document.warnings)
                checked.check()
                counts = write_changes(writer, plan, results, report)
                writer.finish(manifest_for(embedder, settings, counts))
                report.generation = store.publish(writer)
            except BaseException:
                store.discard(writer)
                raise
        store.prune(fallbacks=fallbacks)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def read_item(file: CorpusFile, document: Document, gazetteer: Gazetteer) -> ReadDocument:
    title, area = resolve_metadata(document, file, gazetteer)
    return ReadDocument(file, document, title, area)


def failed(file: CorpusFile, error: ReadError) -> FailureRecord:
    return FailureRecord(file.relative, str(error), file.sha256, now())


def embed_documents(results: list[ReadResult], embedder: Embedder,
                    settings: ChunkSettings, progress: BuildProgress | None,
                    max_chunks: int = DEFAULT_MAX_DOCUMENT_CHUNKS) -> int:
    """Chunk every read document and embed the chunks, with their sentences' vectors
    from the same pass when the embedder can give them. A document with more than
    `max_chunks` chunks becomes a failure instead. Returns the chunks embedded."""
    for position, item in enumerate(results):
        if isinstance(item, ReadDocument):
            refusal = chunk_limit_refusal(item.document, settings, max_chunks)
            if refusal is None:
                item.chunks = chunk_document(item.document, embedder.count_tokens, settings)
                refusal = chunk_limit_refusal(item.document, settings, max_chunks,
                                              len(item.chunks))
            if refusal is not None:
                results[position] = FailureRecord(item.file.relative, refusal,
                                                  item.file.sha256, now())
    ready = [item for item in results if isinstance(item, ReadDocument)]
    pairs = [(item, chunk) for item in ready for chunk in item.chunks]
    texts = [embedding_text(item.title, c.section, c.text, embedder.count_tokens, settings)
             for item, c in pairs]
    spans = [sentence_spans(c.text) for _, c in pairs]
    # the chunk text ends the embedded text, after the "title > section" line
    shifted = [[(a + len(t) - len(c.text), b + len(t) - len(c.text)) for a, b in chunk_spans]
               for t, (_, c), chunk_spans in zip(texts, pairs, spans, strict=True)]
    vectors, sentence_vectors = embed_texts(embedder, texts, shifted, progress)
    aligned = {id(item): align_document(item.document) for item in ready}
    for position, (item, chunk) in enumerate(pairs):
        label = next((p.label for p in item.document.pages if p.number == chunk.page_start),
                     None)
        item.new_chunks.append(NewChunk(
            chunk.ordinal, chunk.page_start, chunk.page_end, label, chunk.section,
            chunk.char_start, chunk.char_end, chunk.text, embedder.count_tokens(chunk.text) - 2,
            vectors[position], spans[position],
            sentence_vectors[position] if sentence_vectors is not None else None,
            ocr=chunk.ocr, boxes=chunk_boxes(aligned[id(item)], chunk.page_start,
                                             chunk.char_start, chunk.page_end, chunk.char_end)))
    return len(pairs)


def embed_texts(embedder: Embedder, texts: list[str], spans: list[list[tuple[int, int]]],
                progress: BuildProgress | None
                ) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """Embed in slices so progress can move; the model batches within each slice.
    `spans` are character offsets of each text's sentences."""
    with_sentences = hasattr(embedder, "embed_with_sentences")
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32), []
    parts: list[np.ndarray] = []
    sentences: list[np.ndarray] = []
    for start in range(0, len(texts), EMBED_SLICE):
        batch = texts[start:start + EMBED_SLICE]
        if with_sentences:
            vectors, pooled = embedder.embed_with_sentences(  # type: ignore[attr-defined]
                batch, spans[start:start + EMBED_SLICE])
            parts.append(vectors)
            sentences.extend(pooled)
        else:
            parts.append(embedder.embed_documents(batch))
        if progress is not None:
            progress.chunks_embedded(min(start + EMBED_SLICE, len(texts)), len(texts))
    return np.vstack(parts), (sentences if with_sentences else None)


def write_changes(writer: IndexWriter, plan: ChangePlan,
                  results: list[ReadResult], report: BuildReport
                  ) -> dict[str, int]:
    """Apply the plan and what was read to the new generation, and fill the report.
    Returns the generation's counts for its manifest."""
    report.unchanged.extend(plan.unchanged)
    report.failed.extend({"path": f.path, "reason": f.reason} for f in plan.still_failing)
    for document in plan.to_delete:
        writer.delete_document(document.id)
    for path in plan.stale_failures:
        writer.clear_failure(path)
    report.removed.extend(plan.removed)
    for item in results:
        if isinstance(item, FailureRecord):
            writer.record_failure(item)
            report.failed.append({"path": item.path, "reason": item.reason})
            if item.path in plan.known:
                report.warnings.append(f"{item.path}: the changed file could not be read "
                                       f"({item.reason}); its previous version stays in the "
                                       "index")
            continue
        relative = item.file.relative
        writer.clear_failure(relative)
        if relative in plan.known:
            writer.delete_document(plan.known[relative].id)
        (report.updated if relative in plan.known or relative in plan.earlier
         else report.added).append(relative)
        if item.document.active_content:
            report.active_content.append({"path": relative,
                                          "kinds": list(item.document.active_content)})
        writer.add_document(document_record(item), [
            PageRecord(p.number, p.label, p.text) for p in item.document.pages], item.new_chunks)
    report.failed.sort(key=lambda f: f["path"])  # corpus order, as the files were scanned
    counts = writer.counts()
    report.chunks = counts["chunks"]
    return {"documents": counts["documents"], "chunks": counts["chunks"],
            "failed": len(report.failed)}


def document_record(item: ReadDocument) -> DocumentRecord:
    meta, shown = item.document.meta, item.document.shown_title(item.title)
    return DocumentRecord(
        id=document_id(item.file.relative), path=item.file.relative, title=shown,
        area=item.area, source_url=meta.source_url, published=meta.published,
        sha256=item.file.sha256, size=item.file.size, pages=len(item.document.pages),
        chunks=len(item.new_chunks), indexed_at=now(), warnings=tuple(item.document.warnings),
        publisher=meta.publisher, doc_type=meta.type, indexed_title=item.title,
        active_content=tuple(item.document.active_content))


def manifest_for(embedder: Embedder, settings: ChunkSettings, counts: dict[str, int]
                 ) -> dict[str, Any]:
    import pdfplumber

    return {
        "model": embedder.name, "dimension": embedder.dimension,
        "max_seq_length": embedder.max_seq_length,
        "chunker": settings.as_dict(),
        "counts": counts,
        "built_at": now(),
        "versions": {"pdfplumber": pdfplumber.__version__, "numpy": np.__version__},
    }
