"""Corpus to published index: incremental builds checked against fresh full builds, bad
files, the model manifest, the build lock, pruning, crash safety and the build CLI."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from paths import ROOT
from pdf_factory import make_image_only_pdf, make_report_pdf

from service.embedding.models import DEFAULT_MODEL
from service.indexing.build import BuildReport, build_index
from service.indexing.chunking import ChunkSettings
from service.indexing.documents import Document
from service.indexing.sandbox import read_document_safely
from service.store import IncompatibleIndex, generations
from service.store import layout as store
from service.store.generations import BuildLocked
from service.store.reader import EmbeddedGeneration as IndexGeneration

BUILD_SCRIPT = ROOT / "scripts" / "build_index.py"

PLANS = {
    "coventry-plan.txt": (
        "Coventry and Warwickshire Five Year Plan\n\n"
        "1 Introduction\n\n"
        "The partnership will improve care for the people of Coventry and Warwickshire. "
        "Hospital and community services will work as one team.\n\n"
        "2 Out of hospital care\n\n"
        "Community diagnostic centres will open in Rugby and Nuneaton so that residents wait "
        "less than six weeks for a scan.\n\n"
        "Virtual wards will care for frail people at home instead of in hospital beds.\n"),
    "stoke-winter.md": (
        "---\n"
        "title: Staffordshire Winter Plan\n"
        "area: Stoke-on-Trent\n"
        "source_url: https://example.org/winter.pdf\n"
        "---\n"
        "# Winter pressures\n\n"
        "Extra beds will open in December at the Royal Stoke University Hospital.\n\n"
        "## Discharge\n\n"
        "Discharge to assess teams will work seven days a week over the winter.\n"),
    "reports/gloucestershire-bulletin.txt": (
        "Community partner bulletin\n\n"
        "One Gloucestershire is recruiting volunteers to support people leaving hospital. "
        "Training is free and takes two mornings.\n\n"
        "Mental health crisis cafes are now open in Gloucester and Cheltenham.\n"),
}
APPENDED = "\n\nA new paragraph about smoking cessation services for every inpatient.\n"


def write_corpus(folder: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def loaded(index_dir: Path) -> IndexGeneration:
    current = generations.current_generation(index_dir)
    assert current is not None
    return IndexGeneration(current)


@contextmanager
def database(generation: IndexGeneration) -> Iterator[sqlite3.Connection]:
    """The generation's SQLite files, opened directly (these tests check what is on disk):
    its own database, with the live chunks of all its segments as a `chunks` view."""
    conn = sqlite3.connect(f"file:{generation.path / store.DATABASE}?mode=ro", uri=True)
    selects = []
    for number, name in enumerate(generation.segments.segments):
        path = generation.path / store.segment_files(name)[0]
        conn.execute(f"ATTACH DATABASE ? AS s{number}", (f"file:{path}?mode=ro",))
        selects.append(f"SELECT * FROM s{number}.chunks "
                       "WHERE id NOT IN (SELECT chunk_id FROM main.deleted)")
    conn.execute(f"CREATE TEMP VIEW chunks AS {' UNION ALL '.join(selects)}" if selects else
                 "CREATE TEMP TABLE chunks (id, doc_id, ordinal, page_start, page_end, "
                 "page_label, section, char_start, char_end, text, tokens, ocr)")
    try:
        yield conn
    finally:
        conn.close()


def chunk_rows(index_dir: Path) -> set[tuple[Any, ...]]:
    """Everything that identifies a chunk except its numeric id."""
    generation = loaded(index_dir)
    try:
        with database(generation) as conn:
            rows = conn.execute(
                "SELECT d.path, c.ordinal, c.page_start, c.page_end, c.page_label, c.section, "
                "c.char_start, c.char_end, c.text, c.tokens FROM chunks c "
                "JOIN documents d ON d.id = c.doc_id").fetchall()
    finally:
        generation.close()
    return {tuple(row) for row in rows}


def vectors_by_chunk(index_dir: Path) -> dict[tuple[str, int], np.ndarray]:
    """Each chunk's vector as FAISS holds it, keyed by (path, ordinal)."""
    generation = loaded(index_dir)
    try:
        with database(generation) as conn:
            rows = conn.execute("SELECT c.id, d.path, c.ordinal FROM chunks c "
                                "JOIN documents d ON d.id = c.doc_id").fetchall()
        return {(path, ordinal): generation.segments.vector(chunk_id)
                for chunk_id, path, ordinal in rows}
    finally:
        generation.close()


def test_first_build_adds_every_file(tmp_path: Path, fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", PLANS)
    report = build_index(corpus, tmp_path / "index", fake_embedder)
    assert report.added == sorted(PLANS)
    assert (report.updated, report.removed, report.unchanged, report.failed) == ([], [], [], [])
    assert report.generation == "gen-000001"
    assert report.full_rebuild_reason is None
    assert report.chunks == len(chunk_rows(tmp_path / "index")) == report.embedded_chunks
    assert len(fake_embedder.embedded) == report.embedded_chunks
    assert (tmp_path / "index" / "CURRENT").read_text() == "gen-000001\n"


def test_documents_get_title_area_and_hash(tmp_path: Path, fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", PLANS)
    build_index(corpus, tmp_path / "index", fake_embedder)
    generation = loaded(tmp_path / "index")
    try:
        documents = {d.path: d.to_dict() for d in generation.documents()}
    finally:
        generation.close()
    winter = documents["stoke-winter.md"]
    assert (winter["title"], winter["area"], winter["source_url"]) == (
        "Staffordshire Winter Plan", "Staffordshire and Stoke-on-Trent",
        "https://example.org/winter.pdf")
    assert documents["coventry-plan.txt"]["title"] == "Coventry and Warwickshire Five Year Plan"
    assert documents["coventry-plan.txt"]["area"] == "Coventry and Warwickshire"
    for path, text in PLANS.items():
        assert documents[path]["sha256"] == hashlib.sha256(text.encode()).hexdigest()
        assert documents[path]["id"] == path.lower().replace("/", "-").replace(".", "-")


def test_unchanged_rebuild_reads_and_embeds_nothing(tmp_path: Path, fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", PLANS)
    index = tmp_path / "index"
    first = build_index(corpus, index, fake_embedder)
    embedded_before = list(fake_embedder.embedded)
    read: list[str] = []

    def recording_read(path: Path, relative: str) -> Document:
        read.append(relative)
        return read_document_safely(path, relative)

    second = build_index(corpus, index, fake_embedder, read=recording_read)
    assert second.unchanged == sorted(PLANS)
    assert (second.added, second.updated, second.removed, second.failed) == ([], [], [], [])
    assert second.embedded_chunks == 0
    assert fake_embedder.embedded == embedded_before
    assert read == []
    # nothing to publish: the live generation stays, and no new one appears
    assert second.generation == first.generation == "gen-000001"
    assert sorted(p.name for p in index.iterdir()) == ["CURRENT", "build.lock", "gen-000001"]


def test_add_change_and_delete_match_a_fresh_full_build(tmp_path: Path,
                                                       fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", PLANS)
    index = tmp_path / "index"
    build_index(corpus, index, fake_embedder)

    (corpus / "stoke-winter.md").unlink()
    with (corpus / "coventry-plan.txt").open("a", encoding="utf-8") as handle:
        handle.write(APPENDED)
    write_corpus(corpus, {"new/suffolk.txt": "Suffolk and North East Essex will open a new "
                          "community hospital in Felixstowe in 2026.\n"})
    embedded_before = len(fake_embedder.embedded)
    report = build_index(corpus, index, fake_embedder)
    assert report.added == ["new/suffolk.txt"]
    assert report.updated == ["coventry-plan.txt"]
    assert report.removed == ["stoke-winter.md"]
    assert report.unchanged == ["reports/gloucestershire-bulletin.txt"]
    assert report.failed == []
    assert report.generation == "gen-000002"
    # only the added and changed documents were embedded
    incremental = chunk_rows(index)
    new_paths = {"new/suffolk.txt", "coventry-plan.txt"}
    assert report.embedded_chunks == sum(row[0] in new_paths for row in incremental)
    assert len(fake_embedder.embedded) - embedded_before == report.embedded_chunks

    fresh = tmp_path / "fresh-index"
    build_index(corpus, fresh, fake_embedder)
    assert incremental == chunk_rows(fresh)
    assert {row[0] for row in incremental} == {
        "coventry-plan.txt", "new/suffolk.txt", "reports/gloucestershire-bulletin.txt"}
    assert any(APPENDED.strip() in row[8] for row in incremental)
    # and FAISS holds the same vector for each chunk, under ids that match the database
    incremental_vectors, fresh_vectors = vectors_by_chunk(index), vectors_by_chunk(fresh)
    assert incremental_vectors.keys() == fresh_vectors.keys()
    for key, vector in incremental_vectors.items():
        np.testing.assert_allclose(vector, fresh_vectors[key], rtol=0, atol=1e-6)


def test_bad_files_are_reported_and_good_files_indexed(tmp_path: Path,
                                                      fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", PLANS)
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "garbage.pdf").write_bytes(b"this is not a PDF at all\n" * 20)
    (corpus / "notes.xyz").write_text("unknown format", encoding="utf-8")
    make_image_only_pdf(corpus / "scan.pdf", pages=1)
    index = tmp_path / "index"
    report = build_index(corpus, index, fake_embedder)

    assert report.added == sorted(PLANS)
    reasons = {failure["path"]: failure["reason"] for failure in report.failed}
    assert sorted(reasons) == ["empty.txt", "garbage.pdf", "notes.xyz", "scan.pdf"]
    assert reasons["empty.txt"] == "empty file (0 bytes)"
    assert reasons["garbage.pdf"].startswith("corrupt or truncated PDF (")
    assert reasons["notes.xyz"] == ("unsupported file type '.xyz'; supported: .docx, .htm, "
                                    ".html, .markdown, .md, .pdf, .txt")
    # the generated scan is noise: OCR reads nothing, and without tesseract it can't try
    assert reasons["scan.pdf"] == (
        "image-only PDF: OCR found no legible English text on any of its 1 page(s)"
        if shutil.which("tesseract") else
        "image-only PDF: install tesseract-ocr to index it (no text layer on any of its 1 "
        "page(s))")
    assert {row[0] for row in chunk_rows(index)} == set(PLANS)
    generation = loaded(index)
    try:
        assert {f.path: f.reason for f in generation.failures()} == reasons
    finally:
        generation.close()

    # the same bad bytes are remembered, not parsed again, and publish nothing new
    read: list[str] = []

    def recording_read(path: Path, relative: str) -> Document:
        read.append(relative)
        return read_document_safely(path, relative)

    again = build_index(corpus, index, fake_embedder, read=recording_read)
    assert read == []
    assert {f["path"]: f["reason"] for f in again.failed} == reasons
    assert again.generation == "gen-000001"


def test_changed_file_that_now_fails_keeps_its_previous_chunks(tmp_path: Path,
                                                              fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", PLANS)
    index = tmp_path / "index"
    build_index(corpus, index, fake_embedder)
    before = chunk_rows(index)

    (corpus / "stoke-winter.md").write_bytes(b"\x81\x8d\x8f\x90\x9d" * 100)
    report = build_index(corpus, index, fake_embedder)
    reason = "undecodable text: not UTF-8 or Windows-1252 (character maps to <undefined>)"
    assert report.failed == [{"path": "stoke-winter.md", "reason": reason}]
    assert report.warnings == [f"stoke-winter.md: the changed file could not be read "
                               f"({reason}); its previous version stays in the index"]
    assert (report.added, report.updated, report.removed) == ([], [], [])
    assert chunk_rows(index) == before


def test_faiss_top_k_matches_numpy_brute_force(tmp_path: Path, fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", PLANS)
    make_report_pdf(corpus / "ics-plan.pdf", two_column=True, appendix_paragraphs=12)
    build_index(corpus, tmp_path / "index", fake_embedder)
    generation = loaded(tmp_path / "index")
    try:
        with database(generation) as conn:
            ids = np.array([row[0] for row in conn.execute("SELECT id FROM chunks ORDER BY id")],
                           dtype=np.int64)
        assert len(ids) == generation.chunk_count > 20
        matrix = np.vstack([generation.segments.vector(int(i)) for i in ids])
        queries = ["community diagnostic centres scan", "winter beds discharge",
                   "measure 3 baseline census", "volunteers leaving hospital"]
        for text in queries:
            query = fake_embedder.embed_query(text)
            for k, allowed in [(5, None), (len(ids) + 3, None), (4, ids[::3].tolist())]:
                pool = ids if allowed is None else np.array(allowed)
                scores = matrix[np.isin(ids, pool)] @ query
                order = np.argsort(-scores, kind="stable")[:k]
                expected_scores = scores[order]
                hits = generation.dense(query, k, allowed=allowed)
                assert len(hits) == min(k, len(pool))
                np.testing.assert_allclose([s for _, s in hits], expected_scores, atol=1e-5)
                by_id = dict(zip(pool.tolist(), scores.tolist(), strict=True))
                for chunk_id, score in hits:  # ties may come in any order, but not wrong
                    assert by_id[chunk_id] == pytest.approx(score, abs=1e-5)
                # ids scoring strictly above the k-th score are exactly the same set
                cutoff = expected_scores[-1]
                assert {i for i, s in hits if s > cutoff + 1e-5} == {
                    i for i, s in by_id.items() if s > cutoff + 1e-5}
    finally:
        generation.close()


def test_manifest_records_the_build_and_refuses_another_model(tmp_path: Path,
                                                             fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", PLANS)
    report = build_index(corpus, tmp_path / "index", fake_embedder)
    current = generations.current_generation(tmp_path / "index")
    assert current is not None
    manifest = store.read_manifest(current)
    assert manifest["model"] == "fake-embedder"
    assert manifest["dimension"] == 64
    assert manifest["max_seq_length"] == 256
    assert manifest["format_version"] == store.FORMAT_VERSION
    assert manifest["chunker"] == ChunkSettings().as_dict()
    assert manifest["chunker"]["chunk_tokens"] == 128
    assert manifest["chunker"]["overlap_sentences"] == 1
    assert manifest["vector_index"] == "IndexFlatIP"
    assert manifest["counts"] == {"documents": 3, "chunks": report.chunks, "failed": 0}
    assert set(manifest["versions"]) == {"faiss", "pdfplumber", "sqlite", "numpy", "tantivy"}

    store.check_model(manifest, "fake-embedder")  # the same model loads
    with pytest.raises(IncompatibleIndex) as error:
        store.check_model(manifest, "other")
    assert str(error.value) == (
        "the index was built with model 'fake-embedder' but 'other' is configured; rebuild "
        "with `python scripts/build_index.py --full --model other` or configure the index's "
        "model")


def test_a_different_model_re_embeds_everything_and_says_why(tmp_path: Path,
                                                            fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", PLANS)
    index = tmp_path / "index"
    first = build_index(corpus, index, fake_embedder)
    fake_embedder.name = "fake-embedder-v2"
    fake_embedder.embedded.clear()
    report = build_index(corpus, index, fake_embedder)
    assert report.full_rebuild_reason == "model changed (fake-embedder -> fake-embedder-v2)"
    assert report.embedded_chunks == first.chunks == len(fake_embedder.embedded)
    # every document was there before: a full rebuild updates them, it adds none
    assert (report.added, report.updated) == ([], sorted(PLANS))
    assert report.generation == "gen-000002"
    current = generations.current_generation(index)
    assert current is not None
    assert store.read_manifest(current)["model"] == "fake-embedder-v2"


def test_full_flag_re_embeds_everything(tmp_path: Path, fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", PLANS)
    first = build_index(corpus, tmp_path / "index", fake_embedder)
    report = build_index(corpus, tmp_path / "index", fake_embedder, full=True)
    assert report.full_rebuild_reason == "--full requested"
    assert report.embedded_chunks == first.chunks
    assert report.generation == "gen-000002"


def test_a_second_build_is_refused_while_the_lock_is_held(tmp_path: Path,
                                                         fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", PLANS)
    index = tmp_path / "index"
    with generations.build_lock(index):
        with pytest.raises(BuildLocked) as error:
            build_index(corpus, index, fake_embedder)
    assert str(error.value) == (f"another build is running (PID {os.getpid()}); wait for it "
                                "to finish, or stop it and run the build again")
    assert fake_embedder.embedded == []
    assert generations.current_generation(index) is None
    # released, the lock lets the build through
    assert build_index(corpus, index, fake_embedder).generation == "gen-000001"


def test_old_generations_are_pruned_to_two(tmp_path: Path, fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", PLANS)
    index = tmp_path / "index"
    for n in range(4):
        write_corpus(corpus, {f"extra-{n}.txt": f"Extra plan paragraph number {n}.\n"})
        if n == 3:  # a crashed build's leftovers go too
            (index / "staging-000099-12345").mkdir()
        build_index(corpus, index, fake_embedder)
    assert sorted(p.name for p in index.iterdir()) == [
        "CURRENT", "build.lock", "gen-000003", "gen-000004"]
    assert (index / "CURRENT").read_text() == "gen-000004\n"
    for name in ("gen-000003", "gen-000004"):  # the previous one stays loadable: rollback
        IndexGeneration(index / name).close()


SHARED_PDFS = ROOT.parent / "shared" / "pdfs"


@pytest.mark.slow  # reads all fifteen real PDFs
def test_shared_pdfs_build_with_only_the_unreadable_failing(tmp_path: Path,
                                                            fake_embedder: Any) -> None:
    if not SHARED_PDFS.is_dir():
        pytest.skip(f"{SHARED_PDFS} is not present")
    import pdfplumber

    index = tmp_path / "index"
    report = build_index(SHARED_PDFS, index, fake_embedder)
    pdfs = sorted(p.name for p in SHARED_PDFS.glob("*.pdf"))
    reasons = {failure["path"]: failure["reason"] for failure in report.failed}
    assert reasons["encrypted_password.pdf"] == "encrypted PDF: it needs a password to open"
    if shutil.which("tesseract"):  # the two real scans are read by OCR; the stamp is not
        awkward = ["encrypted_password.pdf", "malformed_scan.pdf"]
        assert reasons["malformed_scan.pdf"].startswith("image-only PDF: OCR found no legible")
    else:
        awkward = ["encrypted_ownerpw.pdf", "encrypted_password.pdf", "malformed_scan.pdf",
                   "scanned_linn.pdf"]
        assert all(reasons[name].startswith("image-only PDF: install tesseract-ocr")
                   for name in awkward if name != "encrypted_password.pdf")
    assert sorted(reasons) == awkward
    # the readable PDFs, plus SOURCES.md, which is a readable Markdown file like any other
    assert [p for p in report.added if p.endswith(".pdf")] == [p for p in pdfs
                                                               if p not in awkward]

    generation = loaded(index)
    try:
        with database(generation) as conn:
            rows = conn.execute(
                "SELECT c.page_start, c.page_end, c.text FROM chunks c JOIN documents d "
                "ON d.id = c.doc_id WHERE d.path = 'nhse_ifr_policy.pdf'").fetchall()
    finally:
        generation.close()
    with pdfplumber.open(SHARED_PDFS / "nhse_ifr_policy.pdf") as pdf:
        plumber = [" ".join((page.extract_text() or "").split()) for page in pdf.pages]
    # every page with body text has chunks (the cover, all title lines, may have none)
    covered = {page for row in rows for page in range(row[0], row[1] + 1)}
    assert set(range(2, 30)) <= covered <= set(range(1, 30))
    # a chunk's longest passage opens with words pdfplumber finds on the chunk's pages
    unique = 0
    for page_start, page_end, text in rows:
        probe = " ".join(max(text.split("\n\n"), key=len).split()[:8])
        found = [n for n, page_text in enumerate(plumber, start=1) if probe in page_text]
        if len(found) == 1:
            unique += 1
            assert page_start <= found[0] <= page_end, probe
    assert unique >= 0.9 * len(rows)


# -- crash safety and the command line ---------------------------------------------------


def run_env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items()
            if not name.startswith("PLANSEARCH_")}


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[bytes],
             timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "the build finished before it could be killed"
        assert time.monotonic() < deadline, "the build never reached the point to kill it"
        time.sleep(0.02)


@pytest.mark.slow
def test_kill_9_mid_embedding_leaves_the_previous_generation_serving(
        tmp_path: Path, embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", PLANS)
    index = tmp_path / "index"
    build_index(corpus, index, embedder)
    query = embedder.embed_query("community diagnostic centres in Rugby")
    before = loaded(index)
    try:
        expected = before.dense(query, 5)
        expected_count = before.chunk_count
    finally:
        before.close()

    # 600 one-sentence sections: enough chunks that embedding is still going when the
    # progress bar first appears (after the first slice of 256), yet each embeds fast
    for n in range(6):
        sections = "".join(f"## Measure {n}.{m}\n\nWard {m} of district {n} reports how many "
                           f"residents say their health is good.\n\n" for m in range(100))
        write_corpus(corpus, {f"bulk/measures-{n}.md": f"# Outcome measures {n}\n\n{sections}"})
    stderr_path = tmp_path / "build.stderr"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(BUILD_SCRIPT), "--corpus", str(corpus), "--index", str(index)],
            stdout=subprocess.DEVNULL, stderr=stderr, env=run_env(), cwd=tmp_path)
        try:
            wait_for(lambda: any(index.glob("staging-*")), process, timeout=120)
            wait_for(lambda: b"embedding" in stderr_path.read_bytes(), process, timeout=600)
            process.send_signal(signal.SIGKILL)
        finally:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    assert [p.name for p in index.glob("staging-*")], "killed after the staging folder went"

    assert (index / "CURRENT").read_text() == "gen-000001\n"
    after = loaded(index)
    try:
        assert after.name == "gen-000001"
        assert after.chunk_count == expected_count
        assert after.dense(query, 5) == expected
    finally:
        after.close()

    report = build_index(corpus, index, embedder)  # the lock died with the killed build
    assert report.generation == "gen-000002"
    assert report.added == [f"bulk/measures-{n}.md" for n in range(6)]
    assert report.unchanged == sorted(PLANS)
    assert sorted(p.name for p in index.iterdir()) == [
        "CURRENT", "build.lock", "gen-000001", "gen-000002"]
    published = loaded(index)
    try:
        assert published.chunk_count == report.chunks == expected_count + 600
        assert published.dense(query, 1)[0][0] == expected[0][0]
    finally:
        published.close()


def test_build_cli_prints_one_json_summary(tmp_path: Path, fake_embedder: Any) -> None:
    corpus = write_corpus(tmp_path / "corpus", PLANS)
    (corpus / "empty.txt").write_bytes(b"")
    index = tmp_path / "index"
    # Built by a stand-in under the default model's name, the index needs no re-embedding
    # for a deletion: the CLI run below never loads torch or the weights.
    fake_embedder.name, fake_embedder.dimension = DEFAULT_MODEL, 384
    first = build_index(corpus, index, fake_embedder)
    (corpus / "stoke-winter.md").unlink()

    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--corpus", str(corpus), "--index", str(index),
         "--json"], capture_output=True, text=True, env=run_env(), cwd=tmp_path, timeout=300)
    assert result.returncode == 0, (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert isinstance(summary.pop("seconds"), float)
    assert summary == {
        "added": 0, "updated": 0, "removed": 1, "unchanged": 2,
        "failed": [{"path": "empty.txt", "reason": "empty file (0 bytes)"}],
        "warnings": [], "chunks": summary["chunks"], "embedded_chunks": 0,
        "generation": "gen-000002", "full_rebuild_reason": None, "active_content": [],
        "added_paths": [], "updated_paths": [], "removed_paths": ["stoke-winter.md"],
        "unchanged_paths": ["coventry-plan.txt", "reports/gloucestershire-bulletin.txt"],
    }
    assert summary["chunks"] == len(chunk_rows(index)) < first.chunks


def test_build_cli_exits_non_zero_with_one_line_when_no_index_can_result(
        tmp_path: Path) -> None:
    missing = tmp_path / "no-such-corpus"
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--corpus", str(missing), "--index",
         str(tmp_path / "index"), "--json"],
        capture_output=True, text=True, env=run_env(), cwd=tmp_path, timeout=300)
    assert result.returncode == 2
    assert json.loads(result.stdout) == {"error": f"corpus folder not found: {missing}"}


def test_report_summary_keys() -> None:
    summary = BuildReport(added=["a"], failed=[{"path": "b", "reason": "r"}]).summary()
    assert {"added", "updated", "removed", "unchanged", "failed", "chunks",
            "embedded_chunks", "seconds"} <= set(summary)
    assert summary["added"] == 1 and summary["added_paths"] == ["a"]
