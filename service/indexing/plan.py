"""What a build will do, decided before it reads a byte: one pass over the corpus gives
both the work list and the progress totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from service.embedding import Embedder
from service.indexing.chunking import ChunkSettings
from service.indexing.corpus import CorpusFile, scan_corpus
from service.store import DocumentRecord, FailureRecord, IndexNotReady, Store
from service.store.layout import FORMAT_VERSION


@dataclass
class ChangePlan:
    base: str | None  # the generation to extend; None builds from scratch
    full_rebuild_reason: str | None = None
    to_read: list[CorpusFile] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    still_failing: list[FailureRecord] = field(default_factory=list)  # same bytes as last time
    to_delete: list[DocumentRecord] = field(default_factory=list)  # gone from the corpus
    stale_failures: list[str] = field(default_factory=list)  # failed files now gone
    known: dict[str, DocumentRecord] = field(default_factory=dict)  # in the base, by path
    earlier: set[str] = field(default_factory=set)  # indexed before a full rebuild

    @property
    def has_work(self) -> bool:
        """Whether the new generation would differ from the base."""
        return bool(self.to_read or self.to_delete or self.stale_failures or self.removed)

    @property
    def removed(self) -> list[str]:
        present = {f.relative for f in self.to_read} | set(self.unchanged) | \
                  {f.path for f in self.still_failing}
        gone = {d.path for d in self.to_delete} | (self.earlier - present)
        return sorted(gone)


def reuse_reason(store: Store, previous: str, embedder: Embedder, settings: ChunkSettings
                 ) -> str | None:
    """Why the previous generation can't be extended (so everything is re-embedded)."""
    try:
        manifest = store.manifest(previous)
    except IndexNotReady as error:
        return f"previous index unreadable: {error}"
    if manifest.get("format_version") != FORMAT_VERSION:
        return f"index format changed ({manifest.get('format_version')} -> {FORMAT_VERSION})"
    if manifest.get("model") != embedder.name:
        return f"model changed ({manifest.get('model')} -> {embedder.name})"
    if manifest.get("chunker") != settings.as_dict():
        return f"chunker settings changed ({manifest.get('chunker')} -> {settings.as_dict()})"
    return None


def plan_build(store: Store, corpus_dir: Path, embedder: Embedder, settings: ChunkSettings,
               full: bool, previous: str | None) -> ChangePlan:
    """Compare the corpus with `previous`, the generation to build on (the live one, or
    the newest good one when the live one is damaged). Call under the build lock."""
    files = scan_corpus(corpus_dir)
    plan = ChangePlan(base=previous)
    if previous is not None:
        plan.full_rebuild_reason = "--full requested" if full else \
            reuse_reason(store, previous, embedder, settings)
    if previous is None or plan.full_rebuild_reason is not None:
        plan.base = None
        if previous is not None:  # so a full rebuild can still say updated and removed
            try:
                plan.earlier = set(base_contents(store, previous)[0])
            except IndexNotReady:
                pass  # a damaged generation is why we rebuild: it just can't tell us
        plan.to_read = files
        return plan
    known, failed = base_contents(store, previous)
    plan.known = known
    present = {file.relative for file in files}
    for file in files:
        document, failure = known.get(file.relative), failed.get(file.relative)
        if document is not None and document.sha256 == file.sha256:
            plan.unchanged.append(file.relative)
        elif document is None and failure is not None and failure.sha256 == file.sha256:
            plan.still_failing.append(failure)  # don't pay for parsing the same bytes again
        else:
            plan.to_read.append(file)
    plan.to_delete = [d for path, d in sorted(known.items()) if path not in present]
    plan.stale_failures = sorted(path for path in failed if path not in present)
    return plan


def base_contents(store: Store, name: str
                  ) -> tuple[dict[str, DocumentRecord], dict[str, FailureRecord]]:
    generation = store.open(name)
    try:
        return ({d.path: d for d in generation.documents()},
                {f.path: f for f in generation.failures()})
    except IndexNotReady as error:  # each backend's own errors arrive as this
        raise IndexNotReady(f"{name}: {error}") from None
    finally:
        generation.close()

