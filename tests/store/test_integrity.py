"""Integrity of the embedded store's files at load: checksums in the manifest, damaged
files found at load or mid-request, health that tells the truth and clears after a
repair, and workers that fall back mid-request when the generation they serve turns out
damaged. What every backend does about a damaged generation (never published, never
kept as the fallback, repaired by a build) is in test_store_contract."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from service.indexing.build import build_index
from service.store import EmbeddedStore, layout
from tests.web.test_corrupt_index import client_for, document_ids

FIRST = {"gloucestershire.txt": "# Urgent care\n\nGloucestershire opens two urgent treatment "
                                "centres and expands NHS 111 online.\n"}
SECOND = {"staffordshire.txt": "# Planned care\n\nStaffordshire cuts waiting times for hip "
                               "operations with a new elective hub.\n"}
THIRD = {"suffolk.txt": "# Libraries\n\nSuffolk opens health hubs in its libraries.\n"}


def add(corpus: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (corpus / name).write_text(text)


@pytest.fixture
def dirs(tmp_path: Path, fake_embedder: Any) -> dict[str, Path]:
    """gen-000001 (one document) and gen-000002 (two), both good."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    add(corpus, FIRST)
    build_index(corpus, index, fake_embedder)
    add(corpus, SECOND)
    build_index(corpus, index, fake_embedder)
    return {"corpus": corpus, "index": index}


def flip_middle_byte(path: Path) -> None:
    """One changed byte the file format itself can't notice."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))


def test_the_manifest_records_each_file_size_and_checksum(dirs: dict[str, Path]) -> None:
    folder = dirs["index"] / "gen-000002"
    files = layout.read_manifest(folder)["files"]
    keyword_files = sorted(f"{layout.KEYWORDS}/{p.name}"
                           for p in (folder / layout.KEYWORDS).iterdir()
                           if not p.name.startswith("."))  # not tantivy's lock files
    assert len(keyword_files) > 6  # meta.json and at least one segment's files
    names = [layout.DATABASE, *layout.segment_files("seg-000001"),
             *layout.segment_files("seg-000002"), *keyword_files]
    assert files == {name: {"size": (folder / name).stat().st_size,
                            "sha256": hashlib.sha256((folder / name).read_bytes()).hexdigest()}
                     for name in names}


def test_a_checksum_mismatch_is_caught_at_load(dirs: dict[str, Path], fake_embedder: Any
                                               ) -> None:
    flip_middle_byte(dirs["index"] / "gen-000002" / layout.segment_files("seg-000002")[1])
    body = client_for(dirs, fake_embedder).get("/api/health").get_json()
    assert (body["status"], body["generation"], body["bad_generation"]) == \
        ("degraded", "gen-000001", "gen-000002")
    assert "vectors.faiss does not match its checksum" in body["problem"]


def test_damage_after_loading_is_reported_by_health_and_served_around(
        dirs: dict[str, Path], fake_embedder: Any) -> None:
    client = client_for(dirs, fake_embedder)
    assert client.get("/api/health").get_json()["status"] == "ok"
    os.truncate(dirs["index"] / "gen-000002" / layout.DATABASE, 8192)
    health = client.get("/api/health")
    assert health.status_code == 200
    body = health.get_json()
    assert (body["status"], body["generation"], body["bad_generation"]) == \
        ("degraded", "gen-000001", "gen-000002")
    assert document_ids(client) == ["gloucestershire-txt"]
    assert EmbeddedStore(dirs["index"]).bad("gen-000002") is not None


@pytest.mark.parametrize(("path", "damaged"), [
    ("/api/documents", layout.DATABASE),
    # a search reads chunk text from the segments, not the generation's own database:
    # this one finds gen-000002's own document, in the segment only gen-000002 has
    ("/api/search?q=hip operations elective hub", layout.segment_files("seg-000002")[0]),
    ("/api/documents/gloucestershire-txt", layout.DATABASE)])
def test_a_request_that_meets_a_damaged_generation_is_retried_on_the_fallback(
        dirs: dict[str, Path], fake_embedder: Any, path: str, damaged: str) -> None:
    client = client_for(dirs, fake_embedder)
    assert client.application.extensions["plansearch"].searcher().generation.name == \
        "gen-000002"  # loaded and verified, as a gunicorn worker does before serving
    # the same size, so only a query can notice (one that SQLite's page cache can't
    # answer: hence no request before this one); the request itself must survive it
    data = bytearray((dirs["index"] / "gen-000002" / damaged).read_bytes())
    data[100:] = b"\0" * (len(data) - 100)
    (dirs["index"] / "gen-000002" / damaged).write_bytes(bytes(data))
    response = client.get(path)
    assert response.status_code == 200, response.get_json()
    body = client.get("/api/health").get_json()
    assert (body["status"], body["generation"]) == ("degraded", "gen-000001")


def test_a_damaged_current_stays_degraded_until_a_build_and_never_loses_the_fallback(
        dirs: dict[str, Path], fake_embedder: Any) -> None:
    os.truncate(dirs["index"] / "gen-000002" / layout.DATABASE, 8192)
    client = client_for(dirs, fake_embedder)  # a restart after the damage
    body = client.get("/api/health").get_json()
    assert (body["status"], body["generation"], body["bad_generation"]) == \
        ("degraded", "gen-000001", "gen-000002")
    assert document_ids(client) == ["gloucestershire-txt"]


def test_health_clears_once_current_points_at_a_good_generation_again(
        dirs: dict[str, Path], fake_embedder: Any) -> None:
    os.truncate(dirs["index"] / "gen-000002" / layout.DATABASE, 8192)
    client = client_for(dirs, fake_embedder)
    assert client.get("/api/health").get_json()["status"] == "degraded"
    EmbeddedStore(dirs["index"]).point_to("gen-000001")  # what a repair's rollback does
    body = client.get("/api/health").get_json()
    assert (body["status"], body["generation"], body["problem"]) == ("ok", "gen-000001", None)
    assert body.get("bad_generation") is None


def test_a_server_degraded_by_a_damaged_current_is_ok_after_the_repair_build(
        dirs: dict[str, Path], fake_embedder: Any) -> None:
    """POST /api/reindex after damage, seen by a running server: nothing changed in the
    corpus since the good generation, so the repair points CURRENT back at it (the
    store's side, on every backend, is in test_store_contract)."""
    add(dirs["corpus"], THIRD)
    build_index(dirs["corpus"], dirs["index"], fake_embedder)  # gen-000003
    (dirs["corpus"] / "suffolk.txt").unlink()
    build_index(dirs["corpus"], dirs["index"], fake_embedder)  # gen-000004, same as gen-2
    os.truncate(dirs["index"] / "gen-000004" / layout.DATABASE, 8192)
    client = client_for(dirs, fake_embedder)
    assert client.get("/api/health").get_json()["status"] == "degraded"
    (dirs["corpus"] / "suffolk.txt").write_text(THIRD["suffolk.txt"])
    report = build_index(dirs["corpus"], dirs["index"], fake_embedder)
    assert (report.generation, report.added) == ("gen-000003", [])
    assert EmbeddedStore(dirs["index"]).current() == "gen-000003"
    body = client.get("/api/health").get_json()
    assert (body["status"], body["generation"], body["problem"]) == ("ok", "gen-000003", None)
