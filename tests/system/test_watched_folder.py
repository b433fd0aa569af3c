"""Issue 27, end to end: with gunicorn serving as `make run` starts it (two workers, the
real builder subprocess and model), a file saved while the server was stopped is built when
it starts, a PDF copied into the corpus becomes searchable and a deleted one leaves the
index, with nobody calling anything; a PDF written in two parts, with a pause longer than
the watcher's poll, is never indexed half; one watcher runs."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.pdf_factory import make_report_pdf
from tests.system.test_self_repair import TOKEN, Server, wait_for

QUIET_S = 2.0  # the watcher's poll is a quarter of it: 0.5 s
BUILD_LIMIT_S = 120


@pytest.fixture
def server(bundled_index: Path, tmp_path: Path) -> Iterator[Server]:
    shutil.copytree(bundled_index / "corpus", tmp_path / "corpus")
    shutil.copytree(bundled_index / "index", tmp_path / "index")
    # saved while the server was stopped: the watcher compares the folder with the index
    (tmp_path / "corpus" / "saved-while-stopped.txt").write_text(
        "# Zebra crossings\n\nWessex plans forty new zebra crossings near schools by 2030.\n")
    running = Server(tmp_path)
    running.env["PLANSEARCH_WATCH_QUIET_S"] = str(QUIET_S)  # PLANSEARCH_WATCH: on by default
    try:
        running.start()
        yield running
    finally:
        running.stop()


def documents(server: Server) -> dict[str, dict[str, Any]]:
    status, body = server.get("/api/documents")
    assert status == 200, body
    return {d["path"]: d for d in body["documents"]}


def watch_jobs(server: Server) -> list[dict[str, Any]]:
    status, body = server.get("/api/jobs")
    assert status == 200, body
    return [job for job in body["jobs"] if job["kind"] == "watch"]


def finished_watch_jobs(server: Server, count: int) -> list[dict[str, Any]]:
    """The first `count` watch jobs, oldest first, once all have finished."""
    found: list[dict[str, Any]] = []

    def done() -> bool:
        found[:] = watch_jobs(server)[::-1]
        return len(found) >= count and all(j["status"] not in {"queued", "running"}
                                           for j in found)

    wait_for(done, BUILD_LIMIT_S, f"{count} finished watch job(s)")
    return found


def top_document(server: Server, question: str) -> str | None:
    status, body = server.get(f"/api/search?q={question.replace(' ', '+')}&k=1")
    assert status == 200, body
    return body["results"][0]["document"]["id"] if body["results"] else None


@pytest.mark.slow
def test_the_corpus_folder_is_watched_under_make_run(server: Server, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    [caught_up] = finished_watch_jobs(server, 1)
    assert (caught_up["status"], caught_up["files"]) == ("succeeded", [
        {"name": "saved-while-stopped.txt", "change": "added", "status": "indexed"}])
    made = make_report_pdf(tmp_path / "made.pdf")
    started = time.monotonic()
    shutil.copy(made, corpus / "example-ics-plan.pdf")  # someone saves a PDF into the folder
    wait_for(lambda: "example-ics-plan.pdf" in documents(server), BUILD_LIMIT_S + QUIET_S,
             "the copied PDF to be indexed")
    took = time.monotonic() - started
    plan_id = documents(server)["example-ics-plan.pdf"]["id"]
    assert top_document(server, "crisis cafes in each of the four towns") == plan_id
    job = finished_watch_jobs(server, 2)[1]
    assert (job["status"], job["files"]) == ("succeeded", [
        {"name": "example-ics-plan.pdf", "change": "added", "status": "indexed"}])
    assert took >= QUIET_S

    # written in two parts, the pause longer than a poll: the half is never read
    letter = make_report_pdf(tmp_path / "letter.pdf", appendix_paragraphs=30).read_bytes()
    with (corpus / "letter.pdf").open("wb") as file:
        file.write(letter[:len(letter) // 2])
        file.flush()
        time.sleep(QUIET_S * 0.6)  # 1.2 s: over two polls, under the quiet period
        file.write(letter[len(letter) // 2:])
    jobs = finished_watch_jobs(server, 3)
    assert (jobs[2]["status"], jobs[2]["files"]) == ("succeeded", [
        {"name": "letter.pdf", "change": "added", "status": "indexed"}])
    assert documents(server)["letter.pdf"]["pages"] > documents(server)[
        "example-ics-plan.pdf"]["pages"]  # the appendix, in the second half, is there
    assert not [f for f in server.get("/api/documents")[1]["failed"]
                if f["path"] == "letter.pdf"]
    (corpus / "example-ics-plan.pdf").unlink()
    wait_for(lambda: "example-ics-plan.pdf" not in documents(server), BUILD_LIMIT_S + QUIET_S,
             "the deleted PDF to leave the index")
    assert top_document(server, "crisis cafes in each of the four towns") != plan_id
    jobs = finished_watch_jobs(server, 4)
    assert len(jobs) == 4  # one watcher for the two workers: one job per change, not two
    assert jobs[3]["files"] == [{"name": "example-ics-plan.pdf", "change": "removed",
                                 "status": "removed"}]
    assert server.log.read_text().count("for new documents (quiet period") == 1

    # an upload through the admin API lands in the folder too; its own job builds it
    answer = requests.post(f"http://127.0.0.1:{server.port}/api/documents",
                           headers={"Authorization": f"Bearer {TOKEN}"}, timeout=20,
                           files={"file": ("uploaded.txt", b"# Bus lanes\n\nNew bus lanes.\n")})
    assert answer.status_code == 202, answer.text
    wait_for(lambda: server.get(answer.json()["job_url"])[1]["status"] == "succeeded",
             BUILD_LIMIT_S, "the upload's job")
    time.sleep(QUIET_S * 2)
    assert len(finished_watch_jobs(server, 4)) == 4  # no watch job for the upload
