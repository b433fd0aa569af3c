"""Admin API defects from issue #12: racing duplicate uploads, failed uploads that could
not be removed, and 413s that blamed the wrong limit. Builds run in-process with the
fake embedder (the helpers come from test_admin)."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from tests.web.test_admin import (  # noqa: F401
    AUTH,
    ZEBRA,
    all_files,
    app,
    assert_error,
    client,
    corpus_files,
    dirs,
    job,
    run_jobs,
    upload,
)

BROKEN_PDF = b"%PDF-1.4\n%%EOF\n"


# --- defect 6: duplicate detection is atomic -------------------------------------------

def test_twenty_parallel_identical_uploads_store_one_document(
        app: Flask, dirs: dict[str, Path]) -> None:  # noqa: F811
    before = corpus_files(dirs["corpus"])
    start = threading.Barrier(20)
    answers: list[tuple[int, dict[str, Any]]] = []

    def send(number: int) -> None:
        own = app.test_client()
        start.wait(timeout=30)
        response = upload(own, (ZEBRA, f"zebra-{number}.md"))
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * 19 + [202]
    added = corpus_files(dirs["corpus"]) - before
    assert len([name for name in added if not name.startswith(".")]) == 1
    queued = next(body for status, body in answers if status == 202)
    assert {body["job_id"] for _, body in answers} == {queued["job_id"]}
    assert {body["document_id"] for _, body in answers} == {queued["document_id"]}


# --- defect 7: a failed upload can be deleted ------------------------------------------

def failed_upload(app: Flask, client: FlaskClient) -> str:  # noqa: F811
    response = upload(client, (BROKEN_PDF, "broken.pdf"))
    run_jobs(app)
    assert job(client, response.get_json()["job_id"])["status"] == "failed"
    doc_id: str = response.get_json()["document_id"]
    return doc_id


def test_a_document_that_failed_to_index_can_be_deleted_and_uploaded_again(
        app: Flask, client: FlaskClient, dirs: dict[str, Path]) -> None:  # noqa: F811
    doc_id = failed_upload(app, client)
    failed = client.get("/api/documents").get_json()["failed"]
    assert [f["path"] for f in failed] == ["broken.pdf"]
    response = client.delete(f"/api/documents/{doc_id}", headers=AUTH)
    assert response.status_code == 202
    body = response.get_json()
    assert (body["document_id"], body["moved_to"]) == (doc_id, ".deleted/broken.pdf")
    assert not (dirs["corpus"] / "broken.pdf").exists()
    run_jobs(app)
    done = job(client, body["job_id"])
    assert (done["status"], done["files"][0]["status"]) == ("succeeded", "removed")
    assert client.get("/api/documents").get_json()["failed"] == []
    again = upload(client, (BROKEN_PDF, "broken.pdf"))
    assert again.status_code == 202


def test_deleting_a_name_that_is_neither_indexed_nor_in_the_corpus_is_still_404(
        client: FlaskClient) -> None:  # noqa: F811
    assert_error(client.delete("/api/documents/broken-pdf", headers=AUTH), 404, "not_found",
                 "broken-pdf")


# --- defect 8: 413s name the limit that was hit ----------------------------------------

def post_encoded(client: FlaskClient, fields: dict[str, Any]) -> Any:  # noqa: F811
    """Encoded here, as bytes: the test client would spool the files to temporary files
    that the server, refusing to read them, never closes."""
    stream, _, boundary = stream_encode_multipart(fields)
    with stream:
        body = stream.read()
    return client.post("/api/documents", data=body, headers=AUTH,
                       content_type=f"multipart/form-data; boundary={boundary}")


# werkzeug drops the spooled files of the parts it had parsed when it aborts; the garbage
# collector closes them, with a ResourceWarning
LEAVES_SPOOLED_FILES = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnraisableExceptionWarning")


@LEAVES_SPOOLED_FILES
def test_a_1_mb_form_field_is_a_413_naming_the_field_limit(
        client: FlaskClient, dirs: dict[str, Path]) -> None:  # noqa: F811
    before = all_files(dirs["root"])
    response = post_encoded(client, {"file": FileStorage(io.BytesIO(ZEBRA), "zebra.md"),
                                     "title": "x" * 1_000_000})
    assert_error(response, 413, "payload_too_large",
                 "a form field is larger than 500,000 bytes; only file parts may be that "
                 "large (title, area and source_url are short); nothing was written")
    assert all_files(dirs["root"]) == before


@LEAVES_SPOOLED_FILES
def test_1100_file_parts_is_a_413_naming_the_part_limit(
        client: FlaskClient, dirs: dict[str, Path]) -> None:  # noqa: F811
    before = all_files(dirs["root"])
    response = post_encoded(client, {f"file{n}": FileStorage(io.BytesIO(b"plan %d" % n),
                                                             f"plan-{n}.txt")
                                     for n in range(1100)})
    assert_error(response, 413, "payload_too_large",
                 "more than 1,000 parts (files and fields) in one upload; send the files in "
                 "several requests; nothing was written")
    assert all_files(dirs["root"]) == before
