"""A file that two generations share by hard link, truncated in place under a real
gunicorn started as `make run` starts it (issue 23, defect 5): the workers it kills with
SIGBUS are replaced, the replacements never map the damaged files, the service keeps
answering, queues exactly one full rebuild by itself and is back to ok once it publishes,
with no operator. In process: one rebuild however many workers and requests find the
damage, and a generation one worker marks bad is dropped by the others."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from paths import ROOT

from service.indexing.build import build_index
from service.indexing.self_repair import repair_cause
from service.store import layout
from service.store.jobs import JobStore
from service.web.app import create_app
from tests.web.test_corrupt_index import FIRST, SECOND, own_vectors

TOKEN = "self-repair-admin-token"
TIME_LIMIT_S = 120  # from the damage to the service back at ok
QUESTIONS = ["urgent care", "planned care waiting times", "hip operations elective hub",
             "community partners bulletin", "five year plan priorities", "mental health"]


@pytest.fixture(scope="module")
def two_generations(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Path:
    """gen-000001 of four bundled plans, gen-000002 adding the fifth: gen-000002 shares
    gen-000001's segment and keyword files by hard link. Read-only: tests damage copies."""
    root = tmp_path_factory.mktemp("self-repair")
    (root / "corpus").mkdir()
    plans = sorted((ROOT / "corpus").iterdir())
    for plan in plans[:-1]:
        (root / "corpus" / plan.name).write_bytes(plan.read_bytes())
    build_index(root / "corpus", root / "index", embedder)
    (root / "corpus" / plans[-1].name).write_bytes(plans[-1].read_bytes())
    assert build_index(root / "corpus", root / "index", embedder).generation == "gen-000002"
    return root


def shared(generation: Path, pattern: str) -> Path:
    """The file matching `pattern` that the generation shares with an older one."""
    return next(p for p in sorted(generation.glob(pattern)) if p.stat().st_nlink > 1)


class Server:
    """gunicorn as `make run` starts it, on 127.0.0.1 only, importing this worktree."""

    def __init__(self, root: Path) -> None:
        self.root = root
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log = root / "gunicorn.log"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
                    "PLANSEARCH_INDEX_DIR": str(root / "index"),
                    "PLANSEARCH_CORPUS_DIR": str(root / "corpus"),
                    "PLANSEARCH_ADMIN_TOKEN": TOKEN, "PLANSEARCH_WORKERS": "2"}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        imported = subprocess.run([sys.executable, "-c", "import service; print(service.__file__)"],
                                  cwd=ROOT, env=self.env, capture_output=True, text=True,
                                  check=True).stdout.strip()
        assert Path(imported).is_relative_to(ROOT), imported  # not another checkout's code
        # Makefile `run`; without the control socket, whose one default path every
        # gunicorn on this machine would share
        command = [sys.executable, "-m", "gunicorn", "--config",
                   "python:service.web.gunicorn_conf", "--no-control-socket",
                   "--bind", f"127.0.0.1:{self.port}", "service:create_app()"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=log)
        wait_for(lambda: self.get("/api/health")[0] == 200, 60, "the server to start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def get(self, path: str) -> tuple[int, Any]:
        """(status, JSON body); (0, the error) when the connection fails (a dying worker)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                         headers={"Authorization": f"Bearer {TOKEN}"})
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = error.read()
            return error.code, json.loads(body) if error.headers.get_content_type() == \
                "application/json" else body.decode(errors="replace")
        except OSError as error:
            return 0, str(error)

    def workers(self) -> set[int]:
        """The live children of the gunicorn master."""
        assert self.process is not None
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid and fields[0] not in {"Z", "X"}:
                found.add(int(stat.parent.name))
        return found


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def server(two_generations: Path, tmp_path: Path) -> Iterator[Server]:
    # cp -a keeps the hard links between the generations, which the damage needs
    subprocess.run(["cp", "-a", f"{two_generations}/.", str(tmp_path)], check=True)
    running = Server(tmp_path)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def damage_and_recover(server: Server, damaged: Path) -> list[tuple[int, Any]]:
    """Truncate `damaged` in place (same inode, so every generation linking it sees it),
    search, and follow health until the service is back at ok; the health answers seen."""
    before = server.workers()
    assert len(before) == 2
    os.truncate(damaged, damaged.stat().st_size // 3)
    started = time.monotonic()
    seen = [server.get(f"/api/search?q={q.replace(' ', '+')}") for q in QUESTIONS]

    def back_to_ok() -> bool:
        seen.append(server.get("/api/health"))
        return seen[-1][0] == 200 and seen[-1][1]["generation"] == "gen-000003"

    wait_for(back_to_ok, TIME_LIMIT_S - (time.monotonic() - started), "health to be ok again")
    assert seen[-1][1]["status"] == "ok"
    assert len(server.workers()) == 2
    return seen


def the_repair_job(server: Server) -> dict[str, Any]:
    """The one job, once it has finished: it publishes a moment before it reports."""
    jobs: list[dict[str, Any]] = []

    def finished() -> bool:
        status, body = server.get("/api/jobs")
        assert status == 200
        jobs[:] = body["jobs"]
        return all(job["status"] not in {"queued", "running"} for job in jobs)

    wait_for(finished, 30, "the repair job to finish")
    assert [(j["kind"], j["full"], j["status"]) for j in jobs] == [("reindex", True, "succeeded")]
    assert jobs[0]["cause"].startswith("no usable index generation: gen-000002 (CURRENT)")
    return dict(jobs[0])


@pytest.mark.slow
def test_a_truncated_shared_keyword_file_kills_workers_that_are_replaced_and_repaired(
        server: Server) -> None:
    before = server.workers()
    damaged = shared(server.root / "index" / "gen-000002", f"{layout.KEYWORDS}/*.term")
    seen = damage_and_recover(server, damaged)
    log = server.log.read_text()
    assert "was sent SIGBUS" in log  # the keyword files are memory-mapped
    assert before - server.workers()  # the worker that died was replaced
    job = the_repair_job(server)
    # meanwhile the service answered, naming the rebuild it had started
    down = [body for status, body in seen if status == 503 and isinstance(body, dict)
            and body.get("status") == "down"]
    assert down and f"the server queued a full rebuild itself (job {job['id']}" in \
        down[-1]["problem"]
    status, found = server.get("/api/search?q=urgent+care")
    assert status == 200 and found["results"]
    # the replacement never mapped the damaged file again: nothing died after the repair
    assert log.count("was sent SIGBUS") == server.log.read_text().count("was sent SIGBUS")


@pytest.mark.slow
def test_a_truncated_shared_segment_database_is_repaired(server: Server) -> None:
    damaged = shared(server.root / "index" / "gen-000002", f"{layout.SEGMENTS}/*/"
                                                           f"{layout.SEGMENT_DATABASE}")
    seen = damage_and_recover(server, damaged)
    job = the_repair_job(server)
    assert any(status == 503 and isinstance(body, dict) and job["id"] in body.get("problem", "")
               for status, body in seen)
    status, found = server.get("/api/search?q=hip+operations")
    assert status == 200 and found["results"]
    assert server.get("/api/documents")[1]["documents"]


@pytest.fixture
def fake_generations(tmp_path: Path, fake_embedder: Any) -> dict[str, Path]:
    """gen-000001 (one document) and gen-000002 (two), sharing gen-000001's segment."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    for files in (FIRST, SECOND):
        for name, text in files.items():
            (corpus / name).write_text(text)
        build_index(corpus, index, fake_embedder)
    return {"corpus": corpus, "index": index}


@pytest.fixture
def workers(fake_generations: dict[str, Path], fake_embedder: Any) -> list[Flask]:
    """Two apps over one index, as two gunicorn workers are, each with gen-000002 loaded."""
    apps = [create_app({"INDEX_DIR": str(fake_generations["index"]),
                        "CORPUS_DIR": str(fake_generations["corpus"]),
                        "EMBEDDER": fake_embedder, "JOB_RUNNER_THREAD": False})
            for _ in range(2)]
    for app in apps:
        assert app.extensions["plansearch"].searcher().generation.name == "gen-000002"
    return apps


def test_every_worker_and_request_that_finds_no_usable_generation_names_one_rebuild(
        fake_generations: dict[str, Path], workers: list[Flask]) -> None:
    shared_vectors = fake_generations["index"] / "gen-000002" / own_vectors("gen-000001")
    assert shared_vectors.stat().st_nlink == 2
    os.truncate(shared_vectors, 100)
    answers = [app.test_client().get(path) for _ in range(3) for app in workers
               for path in ("/api/health", "/api/search?q=urgent+care")]
    assert [response.status_code for response in answers] == [503] * 12
    jobs = JobStore(fake_generations["index"]).recent()
    assert [(job["kind"], job["full"], job["status"], job["cause"]) for job in jobs] == [
        ("reindex", True, "queued", repair_cause("gen-000002"))]
    for response in answers:
        body = response.get_json()
        problem = body["problem"] if "problem" in body else body["error"]["message"]
        assert f"the server queued a full rebuild itself (job {jobs[0]['id']}" in problem


def test_a_generation_one_worker_marks_bad_is_dropped_by_the_others(
        fake_generations: dict[str, Path], workers: list[Flask]) -> None:
    database = fake_generations["index"] / "gen-000002" / layout.DATABASE
    data = bytearray(database.read_bytes())
    data[100:] = b"\0" * (len(data) - 100)  # the same size: only a query can tell
    database.write_bytes(bytes(data))
    first, second = (app.test_client() for app in workers)
    assert first.get("/api/documents").status_code == 200  # met the damage, fell back
    # the other worker never reads the damaged file: one stat tells it
    assert second.get("/api/search?q=urgent+care").status_code == 200
    assert workers[1].extensions["plansearch"].searcher().generation.name == "gen-000001"
    body = second.get("/api/health").get_json()
    assert (body["status"], body["bad_generation"]) == ("degraded", "gen-000002")
