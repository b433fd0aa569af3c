"""Bounded and cancellable jobs: a document with more chunks than
PLANSEARCH_MAX_DOCUMENT_CHUNKS fails alone with a specific reason while the rest of the
build goes on; DELETE /api/jobs/<id> cancels a queued job, or stops a running build at
its next checkpoint while the previous generation keeps serving; job progress carries a
rate and the time left."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from service.indexing.build import build_index
from service.indexing.build_process import BUILD_SETTINGS
from service.indexing.job_runner import SubprocessBuild
from service.store import EmbeddedStore
from tests.web import test_admin
from tests.web.test_admin import AUTH, job, make_app, run_jobs, upload

dirs = test_admin.dirs  # the admin tests' fixture: a corpus of two plans, indexed

SMALL = "# Urgent care\n\nGloucestershire opens two urgent treatment centres.\n"


def test_a_document_over_the_chunk_limit_fails_alone(tmp_path: Path, fake_embedder: Any
                                                     ) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "small.txt").write_text(SMALL)
    (corpus / "huge.txt").write_text("".join(
        f"# Part {n}\n\n" + "Waiting lists fall as the elective hub opens. " * 40 + "\n\n"
        for n in range(30)))
    report = build_index(corpus, tmp_path / "index", fake_embedder, max_document_chunks=20)
    assert report.added == ["small.txt"]
    assert len(report.failed) == 1
    failure = report.failed[0]
    assert failure["path"] == "huge.txt"
    assert failure["reason"].startswith("too large to index: ")
    assert "chunks, more than the limit of 20 a document (PLANSEARCH_MAX_DOCUMENT_CHUNKS)" in \
        failure["reason"]
    assert not any("Waiting lists" in text for text in fake_embedder.embedded)  # never embedded


def test_a_huge_document_is_refused_before_it_is_chunked(tmp_path: Path, fake_embedder: Any
                                                         ) -> None:
    """Words bound the chunk count from below, so a 49 MB file needs no tokenising to be
    refused."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "small.txt").write_text(SMALL)
    (corpus / "huge.txt").write_text("word " * 200_000)
    report = build_index(corpus, tmp_path / "index", fake_embedder, max_document_chunks=100)
    assert report.added == ["small.txt"]
    assert report.failed[0]["reason"].startswith("too large to index: at least 1562 chunks, "
                                                 "more than the limit of 100")


# --- cancelling jobs ---------------------------------------------------------------------
BIG = "".join(f"# Ward {n}\n\nWard {n} gets a new community diagnostic centre. " * 3 + "\n\n"
              for n in range(60)).encode()
LATE = b"# Libraries\n\nSuffolk opens health hubs in its libraries.\n"


def documents(client: FlaskClient) -> list[str]:
    return sorted(d["id"] for d in client.get("/api/documents").get_json()["documents"])


def test_a_queued_upload_is_cancelled_and_its_file_leaves_the_corpus(
        dirs: dict[str, Path], fake_embedder: Any) -> None:
    app = make_app(dirs, fake_embedder)
    client = app.test_client()
    job_id = upload(client, (BIG, "big.md")).get_json()["job_id"]
    response = client.delete(f"/api/jobs/{job_id}", headers=AUTH)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["message"]) == ("cancelled", "cancelled before it ran")
    assert not (dirs["corpus"] / "big.md").exists()
    assert (dirs["corpus"] / ".deleted" / "big.md").read_bytes() == BIG
    late = upload(client, (LATE, "late.md")).get_json()["job_id"]
    run_jobs(app)
    assert job(client, late)["status"] == "succeeded"
    assert job(client, job_id)["status"] == "cancelled"
    assert "big-md" not in documents(client)
    again = client.delete(f"/api/jobs/{job_id}", headers=AUTH)
    assert again.status_code == 409
    assert again.get_json()["error"]["message"] == f"job {job_id} has already cancelled"
    assert client.delete("/api/jobs/nope", headers=AUTH).status_code == 404
    assert client.delete(f"/api/jobs/{late}").status_code in (401, 403)


def test_a_running_build_stops_at_its_next_checkpoint_and_the_upload_behind_it_completes(
        dirs: dict[str, Path], fake_embedder: Any) -> None:
    app = make_app(dirs, fake_embedder)
    client = app.test_client()
    runner = app.extensions["plansearch_jobs"]
    before = EmbeddedStore(dirs["index"]).current()
    big = upload(client, (BIG, "big.md")).get_json()["job_id"]
    asked: list[Any] = []
    build = runner.build

    def build_and_cancel(full: bool, on_event: Any, on_start: Any, cancelled: Any) -> Any:
        def on_event_then_cancel(event: dict[str, Any]) -> None:
            on_event(event)
            if not asked:  # a small upload arrives, then the big one is cancelled
                asked.append(upload(client, (LATE, "late.md")).get_json()["job_id"])
                asked.append(client.delete(f"/api/jobs/{big}", headers=AUTH))
        return build(full, on_event_then_cancel, on_start, cancelled)

    runner.build = build_and_cancel
    assert runner.run_pending() is True
    late, cancel = asked
    assert cancel.status_code == 202 and cancel.get_json()["status"] == "cancelling"
    cancelled = job(client, big)
    assert (cancelled["status"], cancelled["message"], cancelled["progress"]["phase"]) == (
        "cancelled", "cancelled while running; the live generation is unchanged", "cancelled")
    assert cancelled["files"][0]["status"] == "cancelled"
    assert EmbeddedStore(dirs["index"]).current() == before  # nothing was published
    assert job(client, late)["status"] == "queued"
    runner.build = build
    run_jobs(app)
    assert job(client, late)["status"] == "succeeded"
    assert "late-md" in documents(client) and "big-md" not in documents(client)


def test_a_job_reports_its_embedding_rate_and_time_left(dirs: dict[str, Path],
                                                        fake_embedder: Any) -> None:
    app = make_app(dirs, fake_embedder)
    client = app.test_client()
    job_id = upload(client, (BIG, "big.md")).get_json()["job_id"]
    seen: list[dict[str, Any]] = []
    runner = app.extensions["plansearch_jobs"]
    build = runner.build

    def build_and_watch(full: bool, on_event: Any, on_start: Any, cancelled: Any) -> Any:
        def watch(event: dict[str, Any]) -> None:
            on_event(event)
            if event["event"] == "chunks":
                seen.append(job(client, job_id)["progress"])
        return build(full, watch, on_start, cancelled)

    runner.build = build_and_watch
    run_jobs(app)
    assert seen and seen[0]["chunks_per_s"] > 0 and seen[0]["eta_s"] >= 0
    progress = job(client, job_id)["progress"]
    assert (progress["phase"], progress["eta_s"]) == ("done", 0)


class SlowChild(SubprocessBuild):
    """A stand-in builder that reports progress until SIGUSR1, then says it was
    cancelled, as `python -m service.indexing` does."""

    def command(self) -> list[str]:
        return [sys.executable, "-c", (
            "import json, signal, sys, time\n"
            "stop = []\n"
            "signal.signal(signal.SIGUSR1, lambda *_: stop.append(1))\n"
            "sys.stdin.readline()\n"
            "for done in range(1, 600):\n"
            "    if stop:\n"
            "        print(json.dumps({'event': 'error', 'message': 'the build was cancelled',"
            " 'locked': False, 'cancelled': True}), flush=True)\n"
            "        sys.exit(3)\n"
            "    print(json.dumps({'event': 'chunks', 'done': done, 'total': 600}), flush=True)\n"
            "    time.sleep(0.05)\n")]


def test_the_builder_subprocess_is_asked_to_stop_when_its_job_is_cancelled() -> None:
    build = SlowChild({key: 1 for key in BUILD_SETTINGS})
    events: list[dict[str, Any]] = []
    started = time.monotonic()
    outcome = build(False, events.append, lambda pid: None,
                    lambda: time.monotonic() - started > 1.5)
    assert (outcome.cancelled, outcome.error, outcome.crashed) == (
        True, "the build was cancelled", False)
    assert 10 < len(events) < 100  # it stopped within a second or so of being asked
