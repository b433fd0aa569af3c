"""The reading view and the PDF page view (issue 23, defects 4 and 6): damage that keeps
a file's size is served around from the previous good generation, as the API's requests
are, and health names the damaged generation; a chunk id SQLite cannot bind is a 400 in
both views."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pdf_factory import make_report_pdf

from service.indexing.build import build_index
from service.store import EmbeddedStore, layout
from service.web.app import create_app

PDF = "example-plan.pdf"
DOC_ID = "example-plan-pdf"
OWN_SEGMENT = "gen-000002/" + layout.segment_files("seg-000002")[0]


@pytest.fixture(scope="module")
def two_generations(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Path:
    """gen-000001 of a four-page PDF; gen-000002 of a longer version of it, whose pages and
    chunks are in gen-000002's own segment. Read-only: tests damage copies."""
    root = tmp_path_factory.mktemp("document-views")
    (root / "corpus").mkdir()
    make_report_pdf(root / "corpus" / PDF)
    build_index(root / "corpus", root / "index", embedder)
    make_report_pdf(root / "corpus" / PDF, appendix_paragraphs=2)
    report = build_index(root / "corpus", root / "index", embedder)
    assert (report.generation, report.updated) == ("gen-000002", [PDF])
    return root


def app_over(root: Path, embedder: Any) -> Flask:
    app = create_app({"INDEX_DIR": str(root / "index"), "CORPUS_DIR": str(root / "corpus"),
                      "EMBEDDER": embedder, "JOB_RUNNER_THREAD": False})
    # loaded and verified before any damage, as a gunicorn worker does before serving
    assert app.extensions["plansearch"].searcher().generation.name == "gen-000002"
    return app


def overwrite_table_root(database: Path, table: str) -> None:
    """4 KiB of 0xFF over the first page of `table`: the file keeps its size, so only a
    query that reads that table can notice."""
    with sqlite3.connect(database) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                            (table,)).fetchone()[0]
    conn.close()
    size = database.stat().st_size
    with database.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\xff" * 4096)
    assert database.stat().st_size == size


def own_chunk(root: Path) -> int:
    """A chunk of gen-000002's own segment, read from the file (not through the app,
    whose page cache could then hide the damage)."""
    with sqlite3.connect(root / "index" / OWN_SEGMENT) as conn:
        chunk_id: int = conn.execute("SELECT min(id) FROM chunks").fetchone()[0]
    conn.close()
    return chunk_id


@pytest.mark.parametrize("large", [False, True], ids=["small index", "large index"])
@pytest.mark.parametrize(("view", "table"), [("/documents/{doc}?chunk={chunk}", "pages"),
                                             ("/documents/{doc}/pdf?chunk={chunk}", "chunks")])
def test_a_view_that_meets_damage_answers_from_the_previous_generation(
        two_generations: Path, tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch,
        view: str, table: str, large: bool) -> None:
    if large:  # too big to checksum at every load: only the request's re-check sees it
        monkeypatch.setattr(layout, "CHEAP_CHECKSUM_BYTES", 0)
    root = tmp_path / "copy"
    shutil.copytree(two_generations, root)
    chunk = own_chunk(root)
    app = app_over(root, embedder)
    overwrite_table_root(root / "index" / OWN_SEGMENT, table)
    client = app.test_client()
    response = client.get(view.format(doc=DOC_ID, chunk=chunk))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    body = client.get("/api/health").get_json()
    assert (body["status"], body["generation"], body["bad_generation"]) == \
        ("degraded", "gen-000001", "gen-000002")
    assert "gen-000002: segments/seg-000002/data.sqlite does not match its checksum" in \
        body["problem"]
    assert EmbeddedStore(root / "index").bad("gen-000002") is not None
    # and again: every later request is served from the fallback too
    assert client.get(view.format(doc=DOC_ID, chunk=chunk)).status_code == 200


@pytest.mark.parametrize("chunk", ["9223372036854775808", "-1", "1" * 40])
@pytest.mark.parametrize("view", ["/documents/{doc}?chunk={chunk}",
                                  "/documents/{doc}/pdf?chunk={chunk}"])
def test_a_chunk_id_sqlite_cannot_bind_is_an_html_400(two_generations: Path, embedder: Any,
                                                      view: str, chunk: str) -> None:
    client = app_over(two_generations, embedder).test_client()
    response = client.get(view.format(doc=DOC_ID, chunk=chunk))
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "chunk must be a chunk id" in response.get_data(as_text=True)
