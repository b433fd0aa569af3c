"""Generations share immutable segments: a build links what it did not change, writes one
new segment, tombstones what it replaced, and compacts; older generations keep serving
exactly what they served."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from service.indexing.build import build_index
from service.store import EmbeddedStore, compaction, layout
from service.store.reader import EmbeddedGeneration, document_record


def plan_text(place: str, version: int = 1) -> str:
    return (f"# {place} urgent care\n\n{place} opens urgent treatment centre number "
            f"{version} and expands NHS 111 online.\n\n# {place} planned care\n\n{place} "
            f"cuts waiting times for hip operations, edition {version}.\n")


def write(corpus: Path, place: str, version: int = 1) -> None:
    corpus.mkdir(exist_ok=True)
    (corpus / f"{place.lower()}.txt").write_text(plan_text(place, version))


def built(tmp_path: Path, fake_embedder: Any, places: tuple[str, ...]) -> tuple[Path, Path]:
    """A corpus of these places' plans and its first generation: (corpus, index)."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    for place in places:
        write(corpus, place)
    build_index(corpus, index, fake_embedder)
    return corpus, index


def opened(index: Path, name: str | None = None) -> EmbeddedGeneration:
    store = EmbeddedStore(index)
    return store.open(name or store.current() or "")


def live_texts(generation: EmbeddedGeneration, fake_embedder: Any) -> set[str]:
    """Every chunk text a dense search over the whole generation can return."""
    query = fake_embedder.embed_query("urgent care")
    found = generation.dense(query, 1000)
    return {row.text for row in generation.chunks([i for i, _ in found]).values()}


def test_an_incremental_build_links_unchanged_segments_instead_of_copying(
        tmp_path: Path, fake_embedder: Any) -> None:
    corpus, index = built(tmp_path, fake_embedder, ("Gloucestershire",))
    write(corpus, "Staffordshire")
    build_index(corpus, index, fake_embedder)
    for name in layout.segment_files("seg-000001"):
        first, second = (index / "gen-000001" / name).stat(), (index / "gen-000002" / name).stat()
        assert (first.st_ino, first.st_nlink) == (second.st_ino, 2)  # one file, two names
    own = [index / "gen-000002" / name for name in layout.segment_files("seg-000002")]
    assert [path.stat().st_nlink for path in own] == [1, 1]
    # so are the keyword index's segment files (tantivy writes new files, never old ones)
    keywords = [p for p in (index / "gen-000001" / layout.KEYWORDS).iterdir()
                if not p.name.endswith(".json") and not p.name.startswith(".")]
    assert keywords and all(
        p.stat().st_ino == (index / "gen-000002" / layout.KEYWORDS / p.name).stat().st_ino
        for p in keywords)
    # the manifest's checksums of the linked files are the base's, not re-read
    manifests = [layout.read_manifest(index / g)["files"] for g in ("gen-000001", "gen-000002")]
    for name in [*layout.segment_files("seg-000001"),
                 *(f"{layout.KEYWORDS}/{p.name}" for p in keywords)]:
        assert manifests[0][name] == manifests[1][name]


def test_a_changed_document_leaves_tombstones_that_no_search_returns(
        tmp_path: Path, fake_embedder: Any) -> None:
    corpus, index = built(tmp_path, fake_embedder, ("Gloucestershire", "Staffordshire", "Norfolk"))
    write(corpus, "Norfolk", version=2)
    report = build_index(corpus, index, fake_embedder)
    assert report.updated == ["norfolk.txt"]
    generation = opened(index)
    try:
        assert sorted(generation.segments.segments) == ["seg-000001", "seg-000002"]
        assert len(generation.segments.segments["seg-000001"].dead) == 2  # Norfolk's chunks
        texts = live_texts(generation, fake_embedder)
        assert generation.chunk_count == len(texts) == 6
        assert any("edition 2" in t for t in texts)
        assert not any("Norfolk" in t and "edition 1" in t for t in texts)
        norfolk = generation.chunk_ids_for(documents=["norfolk-txt"])
        assert norfolk is not None and len(norfolk) == 2
        assert all("edition 2" in generation.chunks(norfolk)[i].text or "number 2"
                   in generation.chunks(norfolk)[i].text for i in norfolk)
        assert [p.text for p in generation.pages("norfolk-txt")][0].count("number 2") == 1
    finally:
        generation.close()


def test_many_builds_keep_few_segments_and_the_same_answers_as_a_fresh_build(
        tmp_path: Path, fake_embedder: Any) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    places = [f"Place{n}" for n in range(12)]
    served: dict[str, set[str]] = {}  # generation -> what it served when it was new
    for version, place in enumerate(places, start=1):
        write(corpus, place)
        write(corpus, places[0], version)  # and the first plan changes every time
        name = build_index(corpus, index, fake_embedder, fallbacks=20).generation or ""
        generation = opened(index, name)
        served[name] = live_texts(generation, fake_embedder)
        generation.close()
    incremental = opened(index)
    fresh_index = tmp_path / "fresh"
    build_index(corpus, fresh_index, fake_embedder)
    fresh = opened(fresh_index)
    try:
        assert len(incremental.segments.segments) <= compaction.MAX_SEGMENTS
        assert incremental.chunk_count == fresh.chunk_count == 2 * len(places)
        assert live_texts(incremental, fake_embedder) == live_texts(fresh, fake_embedder)
        query = fake_embedder.embed_query("Place3 hip operations")
        top, expected = incremental.dense(query, 5), fresh.dense(query, 5)
        assert np.allclose([s for _, s in top], [s for _, s in expected])  # ties may swap
        assert incremental.chunks([top[0][0]])[top[0][0]].text == \
            fresh.chunks([expected[0][0]])[expected[0][0]].text
        assert sorted(d.id for d in incremental.documents()) == \
            sorted(d.id for d in fresh.documents())
        for document in fresh.documents():
            assert [p.text for p in incremental.pages(document.id)] == \
                [p.text for p in fresh.pages(document.id)]
    finally:
        incremental.close()
        fresh.close()
    # every older generation still serves what it served: compaction wrote new files
    store = EmbeddedStore(index)
    assert len(store.published()) == len(places)
    for name in store.published():
        assert store.problem(name) is None, name
        generation = opened(index, name)
        try:
            assert live_texts(generation, fake_embedder) == served[name], name
        finally:
            generation.close()


def test_a_mostly_dead_segment_is_rewritten_without_its_tombstones(
        tmp_path: Path, fake_embedder: Any) -> None:
    corpus, index = built(tmp_path, fake_embedder, ("Gloucestershire", "Staffordshire", "Norfolk"))
    (corpus / "norfolk.txt").unlink()
    (corpus / "staffordshire.txt").unlink()
    build_index(corpus, index, fake_embedder)  # 4 of seg-000001's 6 chunks are dead
    generation = opened(index)
    try:
        segments = generation.segments.segments
        assert list(segments) == ["seg-000002-c"]
        assert (segments["seg-000002-c"].info.chunks, len(segments["seg-000002-c"].dead)) == \
            (2, 0)
        assert [d.id for d in generation.documents()] == ["gloucestershire-txt"]
        assert generation.pages("gloucestershire-txt")
        query = fake_embedder.embed_query("urgent care")
        assert len(generation.dense(query, 10)) == 2
    finally:
        generation.close()


def test_a_document_added_and_taken_back_in_one_build_leaves_nothing(
        tmp_path: Path, fake_embedder: Any) -> None:
    corpus, index = built(tmp_path, fake_embedder, ("Gloucestershire",))
    store = EmbeddedStore(index)
    with store.build_lock():
        writer = store.begin(store.current(), fake_embedder.dimension)
        base = opened(index)
        try:
            document = base.documents()[0]
            pages = base.pages(document.id)
            ids = base.chunk_ids_for(documents=[document.id]) or []
            rows = base.chunks(ids)
        finally:
            base.close()
        from service.store import NewChunk

        chunks = [NewChunk(r.ordinal, r.page_start, r.page_end, r.page_label, r.section,
                           r.char_start, r.char_end, r.text, 10,
                           fake_embedder.embed_documents([r.text])[0], [], None)
                  for r in rows.values()]
        renamed = type(document)(**{**document.to_dict(), "id": "copy", "path": "copy.txt"})
        writer.add_document(renamed, pages, chunks)
        writer.delete_document("copy")
        writer.finish({"model": fake_embedder.name, "counts": writer.counts()})
        name = store.publish(writer)
    generation = opened(index, name)
    try:
        assert list(generation.segments.segments) == ["seg-000001"]
        assert generation.chunk_count == 2
        assert not (index / name / layout.SEGMENTS / "seg-000002").exists()
    finally:
        generation.close()


@pytest.mark.parametrize("dead", [0, 3])
def test_dense_search_skips_tombstones_exactly(tmp_path: Path, fake_embedder: Any,
                                               dead: int) -> None:
    corpus, index = built(tmp_path, fake_embedder,
                          ("Gloucestershire", "Staffordshire", "Norfolk", "Suffolk"))
    for place in ("Norfolk", "Suffolk")[: dead and 2]:
        write(corpus, place, version=2)
    build_index(corpus, index, fake_embedder)
    generation = opened(index)
    try:
        query = fake_embedder.embed_query("urgent treatment centre")
        found = generation.dense(query, 8)
        texts = generation.chunks([i for i, _ in found])
        assert len(found) == 8 and len(texts) == 8
        vectors = np.vstack([generation.segments.vector(i) for i, _ in found])
        assert np.allclose(vectors @ query, [s for _, s in found], atol=1e-5)
        assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    finally:
        generation.close()


def test_a_documents_table_from_before_publisher_and_type_is_brought_up_to_date(
        tmp_path: Path) -> None:
    # the documents table as format 4 first shipped it: a build copies such a generation's
    # database and must still be able to write publisher and type into its copy
    added = "|".join(layout.ADDED_DOCUMENT_COLUMNS)
    old_schema = re.sub(rf",\s*(?:{added}) TEXT", "", layout.SCHEMA)
    assert old_schema != layout.SCHEMA
    conn = layout.connect(tmp_path / "index.sqlite", schema=old_schema)
    row = ("d1", "a.txt", "A plan", None, None, None, "0" * 64, 10, 1, 1, "2026-01-01", "[]",
           "seg-000001")
    conn.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    layout.add_missing_columns(conn)
    layout.add_missing_columns(conn)  # twice is harmless
    old = document_record(conn.execute("SELECT * FROM documents").fetchone())
    assert (old.title, old.publisher, old.doc_type) == ("A plan", None, None)
    new = replace(old, id="d2", path="b.txt", publisher="NHS England", doc_type="plan")
    values = {**new.to_dict(), "warnings": "[]", "active_content": "[]", "segment": "seg-000002"}
    columns = (*layout.DOCUMENT_COLUMNS, "segment")
    conn.execute(layout.insert("documents", columns), [values[c] for c in columns])
    stored = document_record(conn.execute("SELECT * FROM documents WHERE id = 'd2'").fetchone())
    assert (stored.publisher, stored.doc_type) == ("NHS England", "plan")
    assert (old.active_content, stored.active_content) == ((), ())
