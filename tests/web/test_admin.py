"""The admin API end to end through the Flask test client: auth, uploads (every refusal
and the traversal names), jobs, delete, reindex, rate limits, API keys and the page.
Builds run in-process with the fake embedder, except one that runs the real builder
subprocess with the real model."""

from __future__ import annotations

import io
import os
import re
import signal
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from corpus_support import build_corpus
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from service.indexing.build import build_index
from service.indexing.build_process import EventProgress
from service.indexing.job_runner import BuildOutcome, JobRunner, SubprocessBuild
from service.indexing.progress import BuildCancelled
from service.indexing.sandbox import corpus_reader
from service.indexing.uploads import UploadRejected, commit, sanitise_name, stage
from service.store import generations
from service.store.generations import BuildLocked
from service.store.jobs import JobStore
from service.web.app import create_app

TOKEN = "test-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ZEBRA = b"# Zebra crossings\n\nWessex plans forty new zebra crossings near schools by 2030.\n"
DOCS = {
    "gloucestershire-urgent-care.txt": "# Urgent care\n\nGloucestershire will open two urgent "
                                       "treatment centres and expand NHS 111 online.\n",
    "staffordshire-planned-care.txt": "# Planned care\n\nStaffordshire reduces waiting times for "
                                      "hip and knee operations with a new elective hub.\n",
}


def in_process_build(corpus: Path, index: Path, embedder: Any) -> Callable[..., BuildOutcome]:
    """The job runner's build step, run in this process with a test embedder."""
    def build(full: bool, on_event: Callable[[dict[str, Any]], None],
              on_start: Callable[[int], None], cancelled: Callable[[], bool]) -> BuildOutcome:
        on_start(os.getpid())
        try:
            report = build_index(corpus, index, embedder, full=full,
                                 read=corpus_reader(corpus), progress=EventProgress(on_event),
                                 cancelled=cancelled)
        except BuildLocked as error:
            return BuildOutcome(error=str(error), locked=True)
        except BuildCancelled as error:
            return BuildOutcome(error=str(error), cancelled=True)
        return BuildOutcome(summary=report.summary())

    return build


@pytest.fixture
def dirs(tmp_path: Path, fake_embedder: Any) -> dict[str, Path]:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    build_corpus(corpus, index, fake_embedder, DOCS)
    return {"root": tmp_path, "corpus": corpus, "index": index}


def make_app(dirs: dict[str, Path], embedder: Any, **config: Any) -> Flask:
    return create_app({"INDEX_DIR": str(dirs["index"]), "CORPUS_DIR": str(dirs["corpus"]),
                       "EMBEDDER": embedder, "ADMIN_TOKEN": TOKEN, "JOB_RUNNER_THREAD": False,
                       "JOB_BUILDER": in_process_build(dirs["corpus"], dirs["index"], embedder),
                       **config})


@pytest.fixture
def app(dirs: dict[str, Path], fake_embedder: Any) -> Flask:
    return make_app(dirs, fake_embedder)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def upload(client: FlaskClient, *files: tuple[bytes, str], headers: dict[str, str] = AUTH,
           **fields: str) -> Any:
    data: dict[str, Any] = {"file": [(io.BytesIO(content), name) for content, name in files]}
    return client.post("/api/documents", data={**data, **fields}, headers=headers,
                       content_type="multipart/form-data")


def run_jobs(app: Flask) -> None:
    runner: JobRunner = app.extensions["plansearch_jobs"]
    while runner.run_pending():
        pass


def job(client: FlaskClient, job_id: str) -> dict[str, Any]:
    response = client.get(f"/api/jobs/{job_id}", headers=AUTH)
    assert response.status_code == 200
    payload: dict[str, Any] = response.get_json()
    return payload


def corpus_files(corpus: Path) -> set[str]:
    return {p.relative_to(corpus).as_posix() for p in corpus.rglob("*") if p.is_file()}


def all_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def assert_error(response: Any, status: int, code: str, fragment: str = "") -> None:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert fragment in body["error"]["message"]


ADMIN_CALLS = [("post", "/api/documents"), ("delete", "/api/documents/x"),
               ("post", "/api/reindex"), ("get", "/api/jobs"), ("get", "/api/jobs/x")]


# --- authentication --------------------------------------------------------------------

@pytest.mark.parametrize("method,path", ADMIN_CALLS)
def test_admin_endpoints_are_disabled_without_a_configured_token(
        dirs: dict[str, Path], fake_embedder: Any, method: str, path: str) -> None:
    client = make_app(dirs, fake_embedder, ADMIN_TOKEN="").test_client()
    response = getattr(client, method)(path, headers=AUTH)
    assert_error(response, 403, "admin_disabled", "set PLANSEARCH_ADMIN_TOKEN")


@pytest.mark.parametrize("method,path", ADMIN_CALLS)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": TOKEN},  # no scheme
                                     {"Authorization": f"Basic {TOKEN}"},
                                     {"X-API-Key": TOKEN},
                                     {"Cookie": f"token={TOKEN}"}])
def test_admin_endpoints_need_the_bearer_token(client: FlaskClient, method: str, path: str,
                                               headers: dict[str, str]) -> None:
    response = getattr(client, method)(path, headers=headers)
    assert_error(response, 401, "unauthorized", "Authorization: Bearer")


def test_a_refused_upload_writes_nothing(client: FlaskClient, dirs: dict[str, Path]) -> None:
    before = corpus_files(dirs["corpus"])
    response = upload(client, (ZEBRA, "zebra.md"), headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert corpus_files(dirs["corpus"]) == before


# --- upload refusals -------------------------------------------------------------------

def test_413_for_an_upload_over_the_limit_and_nothing_is_written(
        dirs: dict[str, Path], fake_embedder: Any) -> None:
    client = make_app(dirs, fake_embedder, MAX_UPLOAD_MB=1).test_client()
    before = all_files(dirs["root"])
    fields = {"file": FileStorage(io.BytesIO(b"%PDF-1.4\n" + b"0" * (1024 * 1024)), "big.pdf")}
    # encoded here, as bytes: the test client would spool it to a file that the server,
    # refusing to read it, never closes
    stream, length, boundary = stream_encode_multipart(fields)
    with stream:
        body = stream.read()
    response = client.post("/api/documents", data=body, headers=AUTH,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert_error(response, 413, "payload_too_large", "larger than 1 MiB")
    assert all_files(dirs["root"]) == before


def test_uploads_larger_than_the_json_body_limit_are_fine(client: FlaskClient) -> None:
    text = ZEBRA + b"More about crossings. " * 5000  # ~110 KB, past MAX_BODY_KB's 64
    assert upload(client, (text, "zebra.md")).status_code == 202


@pytest.mark.parametrize("content,detected", [
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "png"),
    (b"\xff\xd8\xff\xe0" + b"\0" * 64, "jpeg"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "ole2"),
    (b"\x00\x01\x02\x03binary", "binary"),
    (b"caf\xe9 latin-1 text", "binary"),
    (b"", "empty"),
])
def test_415_names_the_detected_type(client: FlaskClient, dirs: dict[str, Path], content: bytes,
                                     detected: str) -> None:
    before = corpus_files(dirs["corpus"])
    response = upload(client, (content, "plan.pdf"))
    assert_error(response, 415, "unsupported_media_type", f"detected type {detected!r}"
                 if detected != "ole2" else "ole2")
    assert corpus_files(dirs["corpus"]) == before


def zip_bytes(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


def test_a_zip_is_only_accepted_when_it_is_a_word_document(client: FlaskClient) -> None:
    assert_error(upload(client, (zip_bytes(["a.txt"]), "plan.docx")), 415,
                 "unsupported_media_type", "'zip'")
    response = upload(client, (zip_bytes(["word/document.xml"]), "plan.zip"))
    assert response.status_code == 202
    assert response.get_json()["files"][0] | {"sha256": None} == {
        "name": "plan.zip.docx", "document_id": "plan-zip-docx", "type": "docx", "sha256": None,
        "size": len(zip_bytes(["word/document.xml"])), "status": "queued",
        "job_id": response.get_json()["job_id"]}


@pytest.mark.parametrize("content,name,stored", [
    (b"%PDF-1.4 not really", "report.txt", "report.pdf"),  # content decides, not the name
    (b"<!DOCTYPE html><html><body><p>Hi</p></body></html>", "page", "page.html"),
    (b"# Notes\n\nplain", "notes.md", "notes.md"),
    (b"plain words", "notes", "notes.txt"),
])
def test_the_stored_extension_matches_the_content(client: FlaskClient, dirs: dict[str, Path],
                                                  content: bytes, name: str, stored: str) -> None:
    response = upload(client, (content, name))
    assert response.status_code == 202
    assert response.get_json()["files"][0]["name"] == stored
    assert (dirs["corpus"] / stored).read_bytes() == content


def test_a_non_multipart_upload_is_415(client: FlaskClient) -> None:
    response = client.post("/api/documents", json={"file": "x"}, headers=AUTH)
    assert_error(response, 415, "unsupported_media_type", "multipart/form-data")


@pytest.mark.parametrize("fields,fragment", [
    ({}, "no file"),
    ({"replace": "maybe"}, "replace must be true or false"),
    ({"source_url": "javascript:alert(1)"}, "source_url must be an http"),
    ({"title": "x" * 301}, "title must be at most 300"),
])
def test_400_for_bad_upload_fields(client: FlaskClient, fields: dict[str, str],
                                   fragment: str) -> None:
    files = () if fragment == "no file" else ((ZEBRA, "zebra.md"),)
    response = upload(client, *files, **fields)
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]["message"]


def test_a_title_for_several_files_is_refused(client: FlaskClient) -> None:
    response = upload(client, (ZEBRA, "a.md"), (ZEBRA + b"!", "b.md"), title="One title")
    assert_error(response, 400, "invalid_metadata", "title applies to one file")


# --- names -----------------------------------------------------------------------------

TRAVERSALS = ["../../x.txt", "..\\x.txt", "..\\..\\..\\x.txt", "/etc/x.txt", "C:\\temp\\x.txt",
              "sub/../../x.txt", "./x.txt", ".x.txt", "...x.txt", "x.txt\x00.sh", "\x00x.txt",
              "%2e%2e%2fx.txt", "x.txt/", " x.txt "]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_traversal_names_land_in_the_corpus_folder(client: FlaskClient, dirs: dict[str, Path],
                                                   name: str) -> None:
    before = all_files(dirs["root"])
    response = upload(client, (ZEBRA, name))
    assert response.status_code == 202, response.get_json()
    stored = response.get_json()["files"][0]["name"]
    assert "/" not in stored and "\\" not in stored and not stored.startswith(".")
    assert all_files(dirs["root"]) - before == {f"corpus/{stored}"} | {
        f for f in all_files(dirs["root"]) - before if f.startswith("index/")}
    assert (dirs["corpus"] / stored).read_bytes() == ZEBRA
    assert (dirs["corpus"] / stored).stat().st_mode & 0o777 == 0o644


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(name=st.text(alphabet=st.sampled_from("./\\\x00:~ -_aZ0é%\n\t$*?<>|\"'"), max_size=24)
       | st.text(max_size=40))
def test_no_upload_name_can_write_outside_the_corpus(tmp_path: Path, name: str) -> None:
    corpus = tmp_path / "nested" / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    before = all_files(tmp_path)
    try:
        item = stage(io.BytesIO(ZEBRA), name, corpus)
        target = commit(item, corpus, replace=True, meta={})
    except UploadRejected as refused:
        assert refused.status == 400
        assert all_files(tmp_path) == before
        return
    assert target.parent == corpus and target.is_file()
    assert not target.name.startswith(".")
    assert all_files(tmp_path) - before <= {f"nested/corpus/{target.name}"}
    target.unlink()


def test_sanitised_names() -> None:
    assert sanitise_name("../../x.pdf") == "x.pdf"
    assert sanitise_name("..\\x.pdf") == "x.pdf"
    assert sanitise_name("Plan (final) v2.pdf") == "Plan-(final)-v2.pdf"
    assert sanitise_name("ＮＨＳ plan.pdf") == "NHS-plan.pdf"  # NFKC folds full-width letters
    assert sanitise_name("x" * 300 + ".pdf") == "x" * 116 + ".pdf"  # 120 characters
    with pytest.raises(UploadRejected):
        sanitise_name("../..")


# --- collisions and duplicates ---------------------------------------------------------

def test_409_on_a_taken_name_unless_replace(app: Flask, client: FlaskClient,
                                            dirs: dict[str, Path]) -> None:
    name = "gloucestershire-urgent-care.txt"
    original = (dirs["corpus"] / name).read_bytes()
    response = upload(client, (b"a new version about minor injuries units", name))
    assert_error(response, 409, "name_conflict", "send replace=true")
    assert (dirs["corpus"] / name).read_bytes() == original
    # the same document id from another spelling of the name is a conflict too
    assert_error(upload(client, (b"other", "Gloucestershire_Urgent-Care.txt"), replace="true"),
                 409, "name_conflict", "same document id")
    response = upload(client, (b"Minor injuries units open in Stroud and Cirencester.", name),
                      replace="true")
    assert response.status_code == 202
    run_jobs(app)
    assert job(client, response.get_json()["job_id"])["status"] == "succeeded"
    hit = client.get("/api/search?q=minor injuries Stroud&k=1").get_json()["results"][0]
    assert hit["document"]["id"] == "gloucestershire-urgent-care-txt"
    assert "Stroud" in hit["text"]


def test_a_byte_identical_upload_returns_the_existing_document(client: FlaskClient,
                                                               dirs: dict[str, Path]) -> None:
    content = (dirs["corpus"] / "staffordshire-planned-care.txt").read_bytes()
    before = corpus_files(dirs["corpus"])
    response = upload(client, (content, "another-name.txt"))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["job_id"], body["document_id"]) == (
        "duplicate", None, "staffordshire-planned-care-txt")
    assert corpus_files(dirs["corpus"]) == before


def test_a_duplicate_of_a_queued_upload_points_at_its_job(client: FlaskClient) -> None:
    first = upload(client, (ZEBRA, "zebra.md")).get_json()
    second = upload(client, (ZEBRA, "zebra-again.md"))
    assert second.status_code == 200
    assert second.get_json()["job_id"] == first["job_id"]
    assert second.get_json()["document_id"] == "zebra-md"


# --- jobs ------------------------------------------------------------------------------

def test_upload_then_job_then_searchable_with_metadata(app: Flask, client: FlaskClient) -> None:
    response = upload(client, (ZEBRA, "zebra.md"), title="Wessex crossings plan", area="Dorset",
                      source_url="https://example.nhs.uk/zebra", publisher="NHS Dorset",
                      published="March 2024", type="plan")
    assert response.status_code == 202
    body = response.get_json()
    assert body["job_url"] == f"/api/jobs/{body['job_id']}"
    queued = job(client, body["job_id"])
    assert (queued["status"], queued["kind"], queued["started_at"]) == ("queued", "upload", None)
    run_jobs(app)
    done = job(client, body["job_id"])
    assert done["status"] == "succeeded" and done["errors"] == [] and done["message"] is None
    assert done["progress"] == {"phase": "done", "documents_done": 1, "documents_total": 1,
                                "chunks_done": 1, "chunks_total": 1, "eta_s": 0,
                                "chunks_per_s": pytest.approx(done["progress"]["chunks_per_s"])}
    assert done["progress"]["chunks_per_s"] > 0
    assert done["files"][0]["status"] == "indexed"
    assert done["created_at"] <= done["started_at"] <= done["finished_at"]
    assert done["report"]["added_paths"] == ["zebra.md"]
    hit = client.get("/api/search?q=zebra crossings near schools&k=1").get_json()["results"][0]
    assert hit["document"] == {"id": "zebra-md", "title": "Wessex crossings plan",
                               "area": "Dorset", "path": "zebra.md",
                               "source_url": "https://example.nhs.uk/zebra",
                               "published": "March 2024", "published_date": "2024-03-01",
                               "publisher": "NHS Dorset", "type": "plan"}
    assert hit["citation"].startswith("Wessex crossings plan (NHS Dorset, March 2024), p.1")


def test_a_file_that_cannot_be_read_fails_its_job_with_the_reason(app: Flask,
                                                                  client: FlaskClient) -> None:
    response = upload(client, (b"%PDF-1.4\n%%EOF\n", "broken.pdf"))
    run_jobs(app)
    done = job(client, response.get_json()["job_id"])
    assert done["status"] == "failed"
    assert done["message"] == "1 of 1 file(s) failed"
    assert done["errors"][0]["file"] == "broken.pdf"
    assert "PDF" in done["errors"][0]["reason"]
    assert done["files"][0]["status"] == "failed"


def test_uploads_queued_meanwhile_share_one_build(app: Flask, client: FlaskClient) -> None:
    first = upload(client, (ZEBRA, "zebra.md")).get_json()["job_id"]
    second = upload(client, (b"Ferries to the Isle of Wight get a new pier.", "ferry.txt"))
    run_jobs(app)
    one, two = job(client, first), job(client, second.get_json()["job_id"])
    assert one["status"] == two["status"] == "succeeded"
    assert one["report"]["generation"] == two["report"]["generation"]
    assert sorted(one["report"]["added_paths"]) == ["ferry.txt", "zebra.md"]


def test_jobs_survive_a_restart_and_an_interrupted_job_is_retried(
        dirs: dict[str, Path], fake_embedder: Any) -> None:
    first = make_app(dirs, fake_embedder)
    job_id = upload(first.test_client(), (ZEBRA, "zebra.md")).get_json()["job_id"]
    store: JobStore = first.extensions["plansearch_jobs"].store
    store.claim_queued()  # a runner took it, then its process died
    restarted = make_app(dirs, fake_embedder)
    client = restarted.test_client()
    assert job(client, job_id)["status"] == "running"
    run_jobs(restarted)
    interrupted = job(client, job_id)
    assert interrupted["status"] == "failed"
    assert interrupted["message"].startswith("interrupted: the builder stopped")
    retry_id = re.search(r"retried by job (\w+)", interrupted["message"]).group(1)  # type: ignore
    retry = job(client, retry_id)
    assert (retry["kind"], retry["status"], retry["retry_of"]) == ("reindex", "succeeded", job_id)
    assert retry["report"]["added_paths"] == ["zebra.md"]
    assert client.get("/api/documents/zebra-md").status_code == 200


class KilledBuild(SubprocessBuild):
    """A real builder process that dies of SIGKILL halfway."""

    def command(self) -> list[str]:
        return [sys.executable, "-c", "import os, signal, sys; print('{\"event\": \"documents\","
                " \"done\": 0, \"total\": 1}', flush=True); os.kill(os.getpid(), signal.SIGKILL)"]


def test_a_killed_builder_fails_the_job_once_and_queues_one_retry(
        dirs: dict[str, Path], fake_embedder: Any) -> None:
    app = make_app(dirs, fake_embedder, JOB_BUILDER=KilledBuild(
        {"CORPUS_DIR": dirs["corpus"], "INDEX_DIR": dirs["index"], "MODEL": "x",
         "PARSE_TIMEOUT_S": 1, "PARSE_MEMORY_MB": 1, "PARSE_MAX_PAGES": 1, "ENCODE_BATCH": 1,
         "MAX_DOCUMENT_CHUNKS": 1}))
    client = app.test_client()
    job_id = upload(client, (ZEBRA, "zebra.md")).get_json()["job_id"]
    run_jobs(app)  # the job fails, its retry fails too, and that retry is not retried again
    killed = job(client, job_id)
    assert killed["status"] == "failed" and killed["builder_pid"] > 0
    assert killed["message"].startswith(f"the builder was killed by {signal.SIGKILL.name}")
    assert killed["files"][0]["status"] == "failed"
    jobs = client.get("/api/jobs", headers=AUTH).get_json()["jobs"]
    assert [(j["kind"], j["status"], j["retry_of"]) for j in jobs] == [
        ("reindex", "failed", job_id), ("upload", "failed", None)]
    assert generations.current_generation(dirs["index"]).name == "gen-000001"  # type: ignore


def test_a_build_started_elsewhere_leaves_the_jobs_queued(app: Flask, client: FlaskClient,
                                                          dirs: dict[str, Path]) -> None:
    job_id = upload(client, (ZEBRA, "zebra.md")).get_json()["job_id"]
    with generations.build_lock(dirs["index"]):
        assert app.extensions["plansearch_jobs"].run_pending() is False
    assert job(client, job_id)["status"] == "queued"
    run_jobs(app)
    assert job(client, job_id)["status"] == "succeeded"


def test_the_background_thread_runs_jobs_and_idles_without_files(
        dirs: dict[str, Path], fake_embedder: Any) -> None:
    # the question log off: the search would write it (issue 26), and this is about the runner
    app = make_app(dirs, fake_embedder, JOB_RUNNER_THREAD=True, QUESTION_LOG=False)
    client = app.test_client()
    assert client.get("/api/search?q=urgent care").status_code == 200
    time.sleep(1.5)  # a poll or so: an idle runner creates nothing
    assert sorted(p.name for p in dirs["index"].iterdir() if p.is_file()) == [
        "CURRENT", "build.lock"]
    job_id = upload(client, (ZEBRA, "zebra.md")).get_json()["job_id"]
    deadline = time.monotonic() + 60
    while job(client, job_id)["status"] in {"queued", "running"} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job(client, job_id)["status"] == "succeeded"


def test_unknown_job_is_404(client: FlaskClient) -> None:
    assert_error(client.get("/api/jobs/nope", headers=AUTH), 404, "not_found", "no job")


@pytest.mark.slow
def test_the_real_builder_subprocess_indexes_an_upload(tmp_path: Path, embedder: Any) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "staffordshire-planned-care.txt").write_text(DOCS["staffordshire-planned-care.txt"])
    build_index(corpus, index, embedder)
    config = {"INDEX_DIR": str(index), "CORPUS_DIR": str(corpus), "EMBEDDER": embedder,
              "ADMIN_TOKEN": TOKEN, "JOB_RUNNER_THREAD": False}
    app = create_app(config)
    client = app.test_client()
    job_id = upload(client, (ZEBRA, "zebra.md")).get_json()["job_id"]
    run_jobs(app)
    done = job(client, job_id)
    assert done["status"] == "succeeded", done
    assert done["builder_pid"] != os.getpid()
    assert done["progress"]["documents_done"] == done["progress"]["documents_total"] == 1
    hit = client.get("/api/search?q=zebra crossings near schools&k=1").get_json()["results"][0]
    assert hit["document"]["id"] == "zebra-md"


# --- delete and reindex ----------------------------------------------------------------

def test_delete_removes_the_document_in_one_swap_and_keeps_the_file(
        app: Flask, client: FlaskClient, dirs: dict[str, Path]) -> None:
    doc_id = "gloucestershire-urgent-care-txt"
    before = client.get("/api/health").get_json()
    response = client.delete(f"/api/documents/{doc_id}", headers=AUTH)
    assert response.status_code == 202
    assert response.get_json()["moved_to"] == ".deleted/gloucestershire-urgent-care.txt"
    run_jobs(app)
    done = job(client, response.get_json()["job_id"])
    assert (done["status"], done["files"][0]["status"]) == ("succeeded", "removed")
    assert client.get(f"/api/documents/{doc_id}").status_code == 404
    ids = [d["id"] for d in client.get("/api/documents").get_json()["documents"]]
    assert ids == ["staffordshire-planned-care-txt"]
    results = client.get("/api/search?q=urgent treatment centres&k=5").get_json()["results"]
    assert all(r["document"]["id"] != doc_id for r in results)
    after = client.get("/api/health").get_json()
    assert after["chunks"] == before["chunks"] - 1
    assert (dirs["corpus"] / ".deleted" / "gloucestershire-urgent-care.txt").read_text() == \
        DOCS["gloucestershire-urgent-care.txt"]
    assert not (dirs["corpus"] / "gloucestershire-urgent-care.txt").exists()


def test_deleting_an_unknown_document_is_404(client: FlaskClient) -> None:
    assert_error(client.delete("/api/documents/nope", headers=AUTH), 404, "not_found", "nope")


def test_reindex_and_full_reindex(app: Flask, client: FlaskClient) -> None:
    plain = client.post("/api/reindex", headers=AUTH)
    full = client.post("/api/reindex", json={"full": True}, headers=AUTH)
    assert plain.status_code == full.status_code == 202
    assert job(client, full.get_json()["job_id"])["full"] is True
    run_jobs(app)
    done = job(client, full.get_json()["job_id"])
    assert done["status"] == "succeeded"
    assert done["report"]["full_rebuild_reason"] == "--full requested"
    assert_error(client.post("/api/reindex?full=perhaps", headers=AUTH), 400,
                 "invalid_parameter", "full must be true or false")


# --- rate limits, API keys, headers ----------------------------------------------------

def test_admin_rate_limit_answers_429_in_the_error_shape(dirs: dict[str, Path],
                                                          fake_embedder: Any) -> None:
    client = make_app(dirs, fake_embedder, RATE_LIMIT_ADMIN="2/minute").test_client()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.10"  # loopback is exempt
    statuses = [client.get("/api/jobs", headers={"Authorization": "Bearer guess"}).status_code
                for _ in range(3)]
    assert statuses == [401, 401, 429]
    # the admin token has a budget of its own, apart from its address's
    assert [client.get("/api/jobs", headers=AUTH).status_code for _ in range(3)] == [
        200, 200, 429]
    response = client.get("/api/jobs", headers=AUTH)
    assert_error(response, 429, "rate_limited", "2 per 1 minute")
    assert "Retry-After" in response.headers


def test_search_rate_limit_is_shared_by_search_and_chat(dirs: dict[str, Path],
                                                         fake_embedder: Any) -> None:
    client = make_app(dirs, fake_embedder, RATE_LIMIT_SEARCH="2/minute").test_client()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.10"  # loopback is exempt
    assert client.get("/api/search?q=urgent care").status_code == 200
    assert client.post("/api/chat", json={"messages": [
        {"role": "user", "content": "urgent care"}]}).status_code == 200
    assert_error(client.get("/api/search?q=urgent care"), 429, "rate_limited")
    assert client.get("/api/health").status_code == 200  # not limited


def test_api_keys_protect_search_when_set(dirs: dict[str, Path], fake_embedder: Any) -> None:
    client = make_app(dirs, fake_embedder, API_KEYS="key-one, key-two").test_client()
    assert_error(client.get("/api/search?q=urgent care"), 401, "unauthorized", "X-API-Key")
    assert_error(client.get("/api/documents", headers={"X-API-Key": "nope"}), 401, "unauthorized")
    assert client.get("/api/search?q=urgent care",
                      headers={"Authorization": "Bearer key-one"}).status_code == 200
    assert client.get("/api/documents", headers={"X-API-Key": "key-two"}).status_code == 200
    assert client.get("/api/documents", headers=AUTH).status_code == 200  # admin token too
    assert client.get("/api/health").status_code == 200
    assert client.get("/api/openapi.json").status_code == 200


def test_search_is_open_without_api_keys(client: FlaskClient) -> None:
    assert client.get("/api/search?q=urgent care").status_code == 200


def test_the_admin_page_has_no_inline_code_and_strict_headers(client: FlaskClient) -> None:
    response = client.get("/admin")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert "<style" not in html and not re.search(r"\s(style|on[a-z]+)\s*=", html)
    assert 'type="password"' in html
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    with client.get("/static/admin.js") as response:
        script = response.get_data(as_text=True)
    assert "localStorage" not in script.replace("never in localStorage", "")
    assert "document.cookie" not in script and "innerHTML" not in script


def test_admin_responses_are_not_cached(client: FlaskClient) -> None:
    response = client.get("/api/jobs", headers=AUTH)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")


# --- hostile content -------------------------------------------------------------------

XSS = b"""---
title: <script>alert('title')</script> Exploit plan
source_url: javascript:alert('link')
area: <img src=x onerror=alert('area')>
---
# <img src=x onerror=alert('heading')> Urgent care exploit

Gloucestershire <script>alert('body')</script> urgent care hub opens
<a href="javascript:alert('a')">here</a> with <svg onload=alert('svg')>.
"""


def test_an_xss_document_renders_inert(app: Flask, client: FlaskClient) -> None:
    response = upload(client, (XSS, "exploit.md"))
    run_jobs(app)
    assert job(client, response.get_json()["job_id"])["status"] == "succeeded"
    document = client.get("/api/documents/exploit-md").get_json()
    assert document["source_url"] is None
    assert any("source_url ignored" in w for w in document["warnings"])
    for path in ("/documents/exploit-md", "/", "/admin"):
        page = client.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "<script>alert" not in html
        assert not re.search(r"<(img|svg)[^>]*\son\w+=", html, re.IGNORECASE)
        assert not re.search(r"(href|src|action)\s*=\s*[\"']?\s*javascript:", html, re.I)
        assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    reading = client.get("/documents/exploit-md").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;body&#39;)&lt;/script&gt;" in reading
    with client.get("/documents/exploit-md/file") as original:
        assert "sandbox" in original.headers["Content-Security-Policy"]


# --- the admin page in a real browser --------------------------------------------------

@pytest.mark.browser
def test_the_admin_page_uploads_watches_and_deletes(dirs: dict[str, Path],
                                                    fake_embedder: Any, chromium: Path) -> None:
    from browser_support import CHROMIUM_ARGS, LiveServer
    from playwright.sync_api import expect, sync_playwright

    problems: list[str] = []
    app = make_app(dirs, fake_embedder, JOB_RUNNER_THREAD=True)
    with LiveServer(app) as live, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(live.url + "/admin")

        page.get_by_label("Token", exact=True).fill("wrong")
        page.get_by_role("button", name="Use token").click()
        expect(page.locator("#token-status")).to_contain_text("401")
        problems.clear()  # the browser logs the refused request itself

        page.get_by_label("Token", exact=True).fill(TOKEN)
        page.get_by_role("button", name="Use token").click()
        expect(page.locator("#token-status")).to_have_text("Token accepted.")
        expect(page.get_by_label("Token", exact=True)).to_have_value("")
        expect(page.locator("#documents tr")).to_have_count(2)

        page.set_input_files("#files", files=[{"name": "zebra.md", "mimeType": "text/markdown",
                                               "buffer": ZEBRA}])
        page.get_by_label("Title (optional, one file only)").fill("Wessex <b>crossings</b>")
        page.get_by_role("button", name="Upload").click()
        expect(page.locator("#upload-status")).to_contain_text("Queued as job")
        expect(page.locator("#jobs tr").first).to_contain_text("succeeded", timeout=60_000)
        expect(page.locator("#documents")).to_contain_text("Wessex <b>crossings</b>",
                                                           timeout=30_000)

        page.get_by_role("button", name="Delete Wessex <b>crossings</b>").click()
        expect(page.locator("#jobs tr").first).to_contain_text("delete", timeout=10_000)
        expect(page.locator("#jobs tr").first).to_contain_text("succeeded", timeout=60_000)
        expect(page.locator("#documents tr")).to_have_count(2, timeout=30_000)

        stored = page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]")
        browser.close()
    assert stored == [0, 0, ""]
    assert problems == []
    assert (dirs["corpus"] / ".deleted" / "zebra.md").read_bytes() == ZEBRA
