"""PDFs that carry JavaScript or launch actions (issue 23, defect 7): indexed, flagged in
the build report and on the document's record (both store backends), and their file
only ever sent as a download."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from active_pdfs import (
    make_launch_link_pdf,
    make_named_js_pdf,
    make_open_action_js_pdf,
    make_page_aa_js_pdf,
    make_plain_pdf,
    write_pdf,
)
from flask.testing import FlaskClient
from milvus_helpers import lite_store
from paths import ROOT

from service import create_app
from service.indexing.build import BuildReport, build_index
from service.indexing.readers.pdf import read_pdf
from service.store import EmbeddedStore

BUILD_SCRIPT = ROOT / "scripts" / "build_index.py"
EXPECTED = [
    {"path": "launch-link.pdf", "kinds": ["launch"]},
    {"path": "named-js.pdf", "kinds": ["javascript"]},
    {"path": "open-action.pdf", "kinds": ["javascript"]},
    {"path": "page-aa.pdf", "kinds": ["javascript"]},
]
OPEN_ACTION_WARNING = (
    "open-action.pdf: active content: the PDF carries JavaScript in the action run on "
    "opening (/OpenAction). Its text is indexed; the file is only offered as a download "
    "and the page view runs no scripts")


def write_corpus(corpus: Path) -> Path:
    corpus.mkdir(parents=True)
    make_open_action_js_pdf(corpus / "open-action.pdf")
    make_named_js_pdf(corpus / "named-js.pdf")
    make_launch_link_pdf(corpus / "launch-link.pdf")
    make_page_aa_js_pdf(corpus / "page-aa.pdf")
    make_plain_pdf(corpus / "plain.pdf")
    return corpus


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildReport]:
    from conftest import FakeEmbedder

    root = tmp_path_factory.mktemp("active")
    report = build_index(write_corpus(root / "corpus"), root / "index", FakeEmbedder())
    return root, report


@pytest.fixture(scope="module")
def active_client(built: tuple[Path, BuildReport]) -> FlaskClient:
    from conftest import FakeEmbedder

    root, _ = built
    return create_app({"INDEX_DIR": str(root / "index"), "CORPUS_DIR": str(root / "corpus"),
                       "EMBEDDER": FakeEmbedder()}).test_client()


def test_the_build_report_flags_active_content_and_still_indexes_the_text(
        built: tuple[Path, BuildReport]) -> None:
    _, report = built
    assert sorted(report.added) == ["launch-link.pdf", "named-js.pdf", "open-action.pdf",
                                    "page-aa.pdf", "plain.pdf"]
    assert report.failed == []
    assert sorted(report.active_content, key=lambda a: a["path"]) == EXPECTED
    assert OPEN_ACTION_WARNING in report.warnings
    summary = json.loads(json.dumps(report.summary()))  # the --json summary is plain JSON
    assert sorted(summary["active_content"], key=lambda a: a["path"]) == EXPECTED


def test_the_record_and_the_api_carry_the_flag(built: tuple[Path, BuildReport],
                                               active_client: FlaskClient) -> None:
    root, _ = built
    store = EmbeddedStore(root / "index")
    records = {d.path: d for d in store.open(store.current() or "").documents()}
    assert records["open-action.pdf"].active_content == ("javascript",)
    assert records["launch-link.pdf"].active_content == ("launch",)
    assert records["plain.pdf"].active_content == ()
    flagged = active_client.get("/api/documents/open-action-pdf").get_json()
    assert flagged["active_content"] == ["javascript"]
    assert flagged["warnings"] == [OPEN_ACTION_WARNING.split(": ", 1)[1]]
    assert active_client.get("/api/documents/plain-pdf").get_json()["active_content"] == []
    listed = active_client.get("/api/documents").get_json()["documents"]
    assert {d["path"]: d["active_content"] for d in listed}["page-aa.pdf"] == ["javascript"]
    found = active_client.get("/api/search", query_string={"q": "community diagnostic centre"})
    assert found.get_json()["results"]  # a warning, not a refusal: the text is searchable


def test_the_file_is_an_attachment_and_the_page_view_still_opens(
        active_client: FlaskClient) -> None:
    for doc_id in ("open-action-pdf", "plain-pdf"):
        response = active_client.get(f"/documents/{doc_id}/file")
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"] == \
            f"attachment; filename={doc_id.removesuffix('-pdf')}.pdf"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
        response.close()
        assert active_client.get(f"/documents/{doc_id}/pdf").status_code == 200


def test_the_check_is_bounded_and_survives_cycles(tmp_path: Path) -> None:
    # an action whose /Next is itself, and a launch action past the object budget
    looping = write_pdf(tmp_path / "loop.pdf", catalog_extra=b"/OpenAction 6 0 R",
                        extra_objects=(b"<< /S /URI /URI (https://nhs.uk/) /Next 6 0 R >>",))
    assert read_pdf(looping, "loop.pdf").active_content == []
    chain = tuple(b"<< /S /URI /URI (https://nhs.uk/) /Next %d 0 R >>" % (n + 1)
                  for n in range(6, 36)) + (b"<< /S /Launch /F (calc.exe) >>",)
    deep = write_pdf(tmp_path / "deep.pdf", catalog_extra=b"/OpenAction 6 0 R",
                     extra_objects=chain)
    assert read_pdf(deep, "deep.pdf").active_content == ["launch"]
    from pdfplumber import open as open_pdf

    from service.indexing.readers.pdf_actions import active_content
    with open_pdf(deep) as pdf:
        assert active_content(pdf, max_objects=10) == {}  # past the budget: not walked
        assert active_content(pdf) == {"launch": "the action run on opening (/OpenAction)"}


def test_build_index_json_shows_the_flag(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_open_action_js_pdf(corpus / "open-action.pdf")
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--corpus", str(corpus), "--index",
         str(tmp_path / "index"), "--json"], capture_output=True, text=True, cwd=tmp_path,
        timeout=300)
    assert result.returncode == 0, (result.stdout, result.stderr)
    summary = json.loads(result.stdout)
    assert summary["active_content"] == [{"path": "open-action.pdf", "kinds": ["javascript"]}]
    assert summary["warnings"] == [OPEN_ACTION_WARNING]


def test_milvus_stores_the_same_flag(tmp_path: Path, fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    embedded = EmbeddedStore(tmp_path / "index-embedded")
    build_index(corpus, embedded, fake_embedder)
    expected = [replace(d, indexed_at="") for d in
                embedded.open(embedded.current() or "").documents()]
    with lite_store(tmp_path / "milvus") as store:
        report = build_index(corpus, store, fake_embedder)
        documents = store.open(report.generation or "").documents()
        assert [replace(d, indexed_at="") for d in documents] == expected
    assert {d.path: d.active_content for d in expected}["named-js.pdf"] == ("javascript",)
