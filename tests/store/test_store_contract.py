"""The store contract (issue 24), run on every backend as txtai runs one DenseTest over
every ANN backend: incremental builds, deletes, rollback and pruning; failed and
cancelled builds; bad marks and the newest good generation; a damaged generation never
published, never kept as the fallback, and repaired by a build. Each backend damages a
generation its own way (`Backend.damage`); what the store does about it is the same."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from milvus_helpers import lite_store

from service.indexing.build import build_index
from service.indexing.progress import BuildCancelled
from service.store import (
    EmbeddedStore,
    GenerationUnreadable,
    GenerationWalk,
    IndexNotReady,
    IndexWriter,
    Store,
    layout,
    serving_order,
)
from service.store.milvus import MilvusStore

DOCS = {
    "urgent.txt": "# Urgent care\n\nGloucestershire will open two urgent treatment centres.\n",
    "planned.txt": "# Planned care\n\nStaffordshire opens an elective hub for hip operations.\n",
    "mental.txt": "# Mental health\n\nDorset expands crisis cafes for adults and children.\n",
}
FERRIES = {"new.txt": "# Ferries\n\nIsle of Wight ferry patients.\n"}
LIBRARIES = {"suffolk.txt": "# Libraries\n\nSuffolk opens health hubs in its libraries.\n"}
DENTISTRY = {"norfolk.txt": "# Dentistry\n\nNorfolk commissions urgent dental appointments.\n"}


@dataclass
class Backend:
    """One store under test, and how damage looks in it."""

    store: Store
    staging_damage: str  # what the refusal to publish a damaged generation names

    def damage(self, name: str) -> None:
        """Damage a published generation so that verifying it fails."""
        if isinstance(self.store, EmbeddedStore):
            os.truncate(self.store.index_dir / name / layout.DATABASE, 8192)
        else:
            self._drop_documents(self.store.open(name).collections["documents"])

    def damage_staging(self, writer: IndexWriter) -> None:
        """Damage a finished, unpublished generation."""
        if isinstance(self.store, EmbeddedStore):
            path = writer.folder / layout.DATABASE  # type: ignore[attr-defined]
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0x40  # one byte the file format itself can't notice
            path.write_bytes(bytes(data))
        else:
            self._drop_documents(writer.collections["documents"])  # type: ignore[attr-defined]

    def _drop_documents(self, collection: str) -> None:
        assert isinstance(self.store, MilvusStore)
        self.store.link.client().drop_collection(collection)


@pytest.fixture(params=["embedded", "milvus-lite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "embedded":
        yield Backend(EmbeddedStore(tmp_path / "index"), "does not match its checksum")
        return
    with lite_store(tmp_path) as store:
        yield Backend(store, "_documents' does not exist")


def write_corpus(folder: Path, documents: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in documents.items():
        (folder / name).write_text(text)


def document_ids(store: Store, name: str) -> set[str]:
    return {d.id for d in store.open(name).documents()}


def test_incremental_builds_delete_rollback_and_prune(backend: Backend, tmp_path: Path,
                                                     fake_embedder: Any) -> None:
    store, corpus = backend.store, tmp_path / "corpus"
    write_corpus(corpus, DOCS)
    first = build_index(corpus, store, fake_embedder)
    assert (first.generation, sorted(first.added)) == ("gen-000001", sorted(DOCS))
    one = store.open("gen-000001")
    kept = {d.id: d for d in one.documents()}["planned-txt"]
    (corpus / "urgent.txt").write_text("# Urgent care\n\nZebra crossings near schools.\n")
    (corpus / "mental.txt").unlink()
    write_corpus(corpus, FERRIES)
    second = build_index(corpus, store, fake_embedder)
    assert (second.generation, second.added, second.updated, second.removed) == (
        "gen-000002", ["new.txt"], ["urgent.txt"], ["mental.txt"])
    assert second.embedded_chunks == 2  # the unchanged document was copied, not embedded
    two = store.open("gen-000002")
    assert document_ids(store, "gen-000002") == {"planned-txt", "urgent-txt", "new-txt"}
    assert {d.id: d for d in two.documents()}["planned-txt"] == kept
    assert two.keyword(two.keyword_query("zebra crossings"), 1)  # type: ignore[arg-type]
    assert not two.keyword(two.keyword_query("crisis cafes"), 3)  # type: ignore[arg-type]
    assert two.pages("mental-txt") == [] and one.pages("mental-txt")
    assert (store.current(), store.published()) == ("gen-000002", ["gen-000002", "gen-000001"])
    signature = store.signature()
    store.point_to("gen-000001")  # rollback: one pointer or alias switch
    assert store.current() == "gen-000001" and store.signature() != signature
    store.point_to("gen-000002")
    (corpus / "new.txt").unlink()
    assert build_index(corpus, store, fake_embedder).generation == "gen-000003"
    assert store.published() == ["gen-000003", "gen-000002"]  # gen-000001 was pruned


def test_bad_generations_and_failed_builds(backend: Backend, tmp_path: Path,
                                           fake_embedder: Any) -> None:
    store, corpus = backend.store, tmp_path / "corpus"
    write_corpus(corpus, DOCS)
    build_index(corpus, store, fake_embedder)
    write_corpus(corpus, FERRIES)
    with pytest.raises(BuildCancelled):
        build_index(corpus, store, fake_embedder, cancelled=lambda: True)
    assert (store.current(), store.published()) == ("gen-000001", ["gen-000001"])
    assert build_index(corpus, store, fake_embedder).generation == "gen-000002"
    assert store.problem("gen-000002") is None
    store.mark_bad("gen-000002", "damaged for the test")
    assert store.bad("gen-000002") == "damaged for the test"
    assert store.problem("gen-000002") == "damaged for the test"
    assert store.newest_good() == "gen-000001"
    assert store.newest_good(exclude="gen-000001") is None
    write_corpus(corpus, {"more.txt": "# Buses\n\nPatient transport by bus.\n"})
    report = build_index(corpus, store, fake_embedder)  # rebuilt from the good one
    assert report.generation == "gen-000003"
    assert report.warnings[0].startswith("the live index was damaged: damaged for the test; "
                                         "rolled back to gen-000001")
    assert {d.path for d in store.open("gen-000003").documents()} == \
        {*DOCS, "new.txt", "more.txt"}


def two_generations(backend: Backend, corpus: Path, embedder: Any) -> None:
    """gen-000001 (one document) and gen-000002 (two), both good."""
    write_corpus(corpus, {"urgent.txt": DOCS["urgent.txt"]})
    build_index(corpus, backend.store, embedder)
    write_corpus(corpus, {"planned.txt": DOCS["planned.txt"]})
    build_index(corpus, backend.store, embedder)


def test_a_generation_that_fails_verification_is_never_published(
        backend: Backend, tmp_path: Path, fake_embedder: Any) -> None:
    store = backend.store
    two_generations(backend, tmp_path / "corpus", fake_embedder)
    writer = store.begin("gen-000002", fake_embedder.dimension)
    writer.finish({"model": fake_embedder.name, "counts": writer.counts()})
    backend.damage_staging(writer)  # between writing and publishing
    with pytest.raises(IndexNotReady, match="failed verification, so it was not published"
                       ) as refused:
        store.publish(writer)
    assert backend.staging_damage in str(refused.value)
    assert store.current() == "gen-000002"
    assert store.published() == ["gen-000002", "gen-000001"]


def test_pruning_keeps_the_newest_good_generation_not_the_damaged_one(
        backend: Backend, tmp_path: Path, fake_embedder: Any) -> None:
    store, corpus = backend.store, tmp_path / "corpus"
    two_generations(backend, corpus, fake_embedder)
    write_corpus(corpus, LIBRARIES)
    build_index(corpus, store, fake_embedder)  # gen-000003
    backend.damage("gen-000003")
    write_corpus(corpus, DENTISTRY)  # the next upload
    report = build_index(corpus, store, fake_embedder)
    assert report.generation == "gen-000004"
    assert "rolled back to gen-000002" in report.warnings[0]
    assert store.published() == ["gen-000004", "gen-000002"]
    assert [store.problem(name) for name in store.published()] == [None, None]
    assert store.current() == "gen-000004"
    assert document_ids(store, "gen-000004") == {"urgent-txt", "planned-txt", "suffolk-txt",
                                                 "norfolk-txt"}


def test_a_build_with_nothing_new_repairs_a_damaged_current(
        backend: Backend, tmp_path: Path, fake_embedder: Any) -> None:
    """POST /api/reindex after damage: nothing changed in the corpus since the good
    generation, so the repair is to point CURRENT back at it."""
    store, corpus = backend.store, tmp_path / "corpus"
    two_generations(backend, corpus, fake_embedder)
    write_corpus(corpus, LIBRARIES)
    build_index(corpus, store, fake_embedder)  # gen-000003
    (corpus / "suffolk.txt").unlink()
    build_index(corpus, store, fake_embedder)  # gen-000004, the same as gen-000002
    backend.damage("gen-000004")
    assert store.problem("gen-000004") is not None
    write_corpus(corpus, LIBRARIES)
    report = build_index(corpus, store, fake_embedder)
    assert (report.generation, report.added) == ("gen-000003", [])
    assert store.current() == "gen-000003" and store.problem("gen-000003") is None
    assert store.published() == ["gen-000003"]  # gen-000002 went at the last build


def test_a_damaged_generation_raises_the_interfaces_error(
        backend: Backend, tmp_path: Path, fake_embedder: Any) -> None:
    """Each backend turns its engines' errors (SQLite's, FAISS's, Milvus's) into the
    interface's at its boundary, so the server's fallback and a build's rollback never
    name an engine (issue 24)."""
    store = backend.store
    two_generations(backend, tmp_path / "corpus", fake_embedder)
    backend.damage("gen-000002")
    with pytest.raises(IndexNotReady) as raised:
        store.open("gen-000002").verify()
    assert type(raised.value).__module__.startswith("service.store")
    assert store.problem("gen-000002") is not None and store.problem("gen-000001") is None
    assert store.newest_good() == "gen-000001" and store.bad("gen-000002") is not None


def test_the_generation_policy_marks_damage_bad_but_not_an_unreadable_generation(
        backend: Backend, tmp_path: Path, fake_embedder: Any) -> None:
    """The one walk a server, a build and pruning share: a generation that can't be
    opened for a reason outside its data is passed over but not marked bad, and is not
    damage a rebuild would repair; a damaged one is marked bad on the way."""
    store = backend.store
    two_generations(backend, tmp_path / "corpus", fake_embedder)

    def busy(name: str) -> str:
        if name == "gen-000002":
            raise GenerationUnreadable("too many open files")
        return name

    walk = GenerationWalk(store, busy)
    assert list(walk.good(serving_order(store, "gen-000002", None))) == [
        ("gen-000001", "gen-000001")]
    assert (walk.failures, walk.damaged) == (["gen-000002: too many open files"], False)
    assert store.bad("gen-000002") is None
    backend.damage("gen-000002")
    walk = GenerationWalk(store, lambda name: store.open(name).verify())
    assert [name for name, _ in walk.good(serving_order(store, "gen-000002", "gen-000001"))] \
        == []  # nothing newer than what is served loads
    assert walk.damaged and store.bad("gen-000002") == walk.failures[0].split(": ", 1)[1]


def test_every_live_chunks_sentence_vectors_are_read_in_one_pass(
        backend: Backend, tmp_path: Path, embedder: Any) -> None:
    """The whole-index sentence search reads them all; a replaced or deleted document's
    chunks (tombstones in the embedded store) are never among them. The real model: only
    it embeds sentences."""
    store, corpus = backend.store, tmp_path / "corpus"
    # one document of five deleted: its segment keeps it as a tombstone (not compacted)
    write_corpus(corpus, DOCS | FERRIES | LIBRARIES)
    build_index(corpus, store, embedder)
    one = store.open("gen-000001")
    before = {d.id for d in one.documents()}
    gone = set(one.chunk_ids_for(documents=["mental-txt"]) or [])
    (corpus / "mental.txt").unlink()
    build_index(corpus, store, embedder)
    two = store.open("gen-000002")
    live = set(two.chunk_ids_for(documents=sorted(before)) or [])
    read = list(two.all_sentence_vectors())
    ids = [chunk_id for chunk_id, _ in read]
    assert len(ids) == len(set(ids)) and set(ids) == live and not set(ids) & gone
    stored = two.sentence_vectors(ids)
    for chunk_id, vectors in read:
        assert vectors.dtype == np.float32
        assert np.array_equal(vectors, stored[chunk_id][1])
    assert sum(len(v) for _, v in one.all_sentence_vectors()) > 0
