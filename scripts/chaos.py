#!/usr/bin/env python
"""A bounded fault run against a real gunicorn server on 127.0.0.1, in a temporary
folder: searches during rebuilds, kill -9 of the builder, a truncated live FAISS file,
the 15 real-world PDFs uploaded through the API, and abuse (long chats against a
concurrent search, parallel identical uploads, question scripts against the rate
limits). Prints tables and records them in RELIABILITY.md. Touches nothing outside its
temporary folder."""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["what are Gloucestershire's urgent care plans", "RTT waiting times",
             "planned care in Staffordshire", "mental health services Coventry",
             "community partners bulletin", "elective hub", "NHS 111 online"]
FAULT_STAGES = ("rebuild", "kill", "corrupt", "pdfs")
ABUSE_STAGES = ("abuse", "duplicates", "questions")
INTEGRITY_STAGES = ("integrity", "big-upload", "cancel")
# each group's table goes to its own RELIABILITY.md section (<!-- NAME:start -->)
SECTIONS = ((FAULT_STAGES, "chaos"), (ABUSE_STAGES, "chaos-abuse"),
            (INTEGRITY_STAGES, "integrity"))
FILLER = "urgent care waiting times in Gloucestershire hospitals "
PROXIED = "192.0.2.10"  # a client address the loopback "proxy" forwards for
# `make run`'s settings, plus: no control socket in $HOME (the run stays inside its
# folder), and a root logger (gunicorn refuses a logconfig_dict whose handlers replace
# its "console" one while its default root logger still names it).
GUNICORN_CONFIG = """
from service.web.gunicorn_conf import *  # noqa: F401,F403
from service.web.gunicorn_conf import logconfig_dict as _base

control_socket_disable = True
logconfig_dict = {**_base, "root": {"level": "WARNING", "handlers": ["stderr"]}}
"""


class Api:
    """A tiny loopback-only HTTP client (stdlib only)."""

    def __init__(self, port: int, token: str) -> None:
        self.base, self.token = f"http://127.0.0.1:{port}", token

    def call(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None, admin: bool = False,
             timeout: float = 60) -> tuple[int, Any]:
        headers = dict(headers or {})
        if admin:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base + path, data=body, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read() or b"null")

    def upload(self, name: str, content: bytes) -> tuple[int, Any]:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
        return self.call("POST", "/api/documents", body, admin=True, timeout=300, headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}"})

    def job(self, job_id: str) -> dict[str, Any]:
        status, body = self.call("GET", f"/api/jobs/{job_id}", admin=True)
        assert status == 200, body
        job: dict[str, Any] = body
        return job

    def wait_job(self, job_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job["status"] in {"succeeded", "failed", "cancelled"}:
                return job
            time.sleep(0.25)
        raise TimeoutError(f"job {job_id} did not finish within {timeout:.0f} s")

    def documents(self) -> list[dict[str, Any]]:
        status, body = self.call("GET", "/api/documents")
        assert status == 200, body
        documents: list[dict[str, Any]] = body["documents"]
        return documents

    def health(self) -> tuple[int, dict[str, Any]]:
        status, body = self.call("GET", "/api/health")
        return status, body


@dataclass
class Server:
    root: Path
    port: int
    token: str
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "gunicorn.log"

    def env(self) -> dict[str, str]:
        return {**os.environ, "PLANSEARCH_INDEX_DIR": str(self.root / "index"),
                "PLANSEARCH_CORPUS_DIR": str(self.root / "corpus"),
                "PLANSEARCH_ADMIN_TOKEN": self.token, "PLANSEARCH_WORKERS": "2",
                "PLANSEARCH_THREADS": "4",
                # Loopback clients are exempt from rate limits by default. The run also
                # plays a trusted proxy on loopback, to send as a remote client.
                "PLANSEARCH_TRUSTED_PROXIES": "127.0.0.1",
                "PLANSEARCH_RATE_LIMIT_SEARCH": "1200/minute"}  # the default, pinned

    def start(self, api: Api, timeout: float = 180) -> None:
        config = self.root / "gunicorn_chaos.py"
        config.write_text(GUNICORN_CONFIG)
        command = [sys.executable, "-m", "gunicorn", "--config", str(config),
                   "--bind", f"127.0.0.1:{self.port}", "service:create_app()"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env(), stdout=log,
                                            stderr=log)
        wait_until(lambda: healthy(api), timeout, "the server to start")

    def workers(self) -> set[int]:
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

    def reload(self, timeout: float = 120) -> None:
        """SIGHUP: new workers load the index afresh; wait until the old ones are gone."""
        assert self.process is not None
        old = self.workers()
        self.process.send_signal(signal.SIGHUP)
        wait_until(lambda: not (old & self.workers()), timeout, "the old workers to exit")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def healthy(api: Api) -> bool:
    try:
        return api.health()[0] == 200
    except OSError:
        return False


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def unique_document(label: str) -> tuple[str, bytes, str]:
    """A small plan with a word no other document has: (name, content, that word)."""
    word = f"chaos{uuid.uuid4().hex[:10]}"
    text = (f"# {label.title()} plan\n\nThe {word} programme improves urgent care and planned "
            f"care across the area. Waiting times for {word} clinics fall by a third.\n")
    return f"{label}-{word}.md", text.encode(), word


def check_documents(api: Api, expected: set[str]) -> str | None:
    """None when the index holds exactly `expected`, once each, chunks all accounted for."""
    documents = api.documents()
    ids = [d["id"] for d in documents]
    status, health = api.health()
    if len(ids) != len(set(ids)):
        return f"duplicate document ids: {sorted(i for i, n in Counter(ids).items() if n > 1)}"
    if set(ids) != expected:
        return f"missing {sorted(expected - set(ids))}, unexpected {sorted(set(ids) - expected)}"
    if status != 200 or sum(d["chunks"] for d in documents) != health["chunks"]:
        return f"chunk counts disagree: documents {sum(d['chunks'] for d in documents)}, " \
               f"index {health.get('chunks')}"
    return None


class SearchClients:
    """Clients searching in a loop; every status (or exception) is counted."""

    def __init__(self, api: Api, count: int) -> None:
        self.api, self.count = api, count
        self.statuses: Counter[str] = Counter()
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(count)]

    def _run(self, seed: int) -> None:
        chooser = random.Random(seed)
        while not self._stop.is_set():
            query = urllib.parse.quote(chooser.choice(QUESTIONS))
            started = time.perf_counter()
            try:
                status = str(self.api.call("GET", f"/api/search?q={query}&k=5", timeout=30)[0])
            except OSError as error:
                status = type(error).__name__
            with self._lock:
                self.statuses[status] += 1
                self.latencies.append(time.perf_counter() - started)

    def __enter__(self) -> SearchClients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def summary(self) -> tuple[int, int, str]:
        total = sum(self.statuses.values())
        failed = total - self.statuses.get("200", 0)
        ordered = sorted(self.latencies) or [0.0]
        timing = (f"p50 {statistics.median(ordered) * 1000:.0f} ms, "
                  f"p95 {ordered[int(0.95 * (len(ordered) - 1))] * 1000:.0f} ms")
        return total, failed, timing


def upload_and_wait(api: Api, label: str, timeout: float) -> tuple[str, dict[str, Any]]:
    name, content, _ = unique_document(label)
    status, body = api.upload(name, content)
    assert status == 202, body
    return body["document_id"], api.wait_job(body["job_id"], timeout)


# --- the stages ------------------------------------------------------------------------

def rebuild_cycles(api: Api, expected: set[str], cycles: int, clients: int) -> dict[str, Any]:
    durations = []
    with SearchClients(api, clients) as searching:
        for number in range(1, cycles + 1):
            started = time.monotonic()
            doc_id, job = upload_and_wait(api, f"cycle{number}", timeout=300)
            if job["status"] != "succeeded":
                raise RuntimeError(f"cycle {number}: upload job failed: {job['message']}")
            expected.add(doc_id)
            durations.append(time.monotonic() - started)
    total, failed, timing = searching.summary()
    problem = check_documents(api, expected)
    return {"check": f"{clients} clients searching through {cycles} upload-and-rebuild cycles",
            "ok": failed == 0 and problem is None,
            "result": f"{failed} non-200 of {total} searches",
            "detail": f"{timing}; each cycle (upload to job done) took "
                      f"{min(durations):.1f}-{max(durations):.1f} s; statuses "
                      f"{dict(searching.statuses)}" + (f"; {problem}" if problem else ""),
            "durations": durations}


def kill_trial(api: Api, expected: set[str], window: float, chooser: random.Random
               ) -> dict[str, Any]:
    """Upload, kill -9 the builder at a random moment, then check the recovery."""
    before = api.health()[1]["generation"]
    name, content, word = unique_document("kill")
    status, body = api.upload(name, content)
    assert status == 202, body
    job_id = body["job_id"]
    wait_until(lambda: api.job(job_id).get("builder_pid"), 120, "the builder to start")
    delay = chooser.uniform(0.0, window)
    time.sleep(delay)
    job = api.job(job_id)
    pid, phase = job["builder_pid"], (job["progress"] or {}).get("phase", "?")
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"build_index.py" not in cmdline or job["status"] != "running":
            raise ProcessLookupError
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, FileNotFoundError):
        api.wait_job(job_id, 300)
        expected.add(body["document_id"])
        return {"missed": True, "delay": delay}
    search_status = api.call("GET", "/api/search?q=urgent+care")[0]
    health_status, health = api.health()
    serving = health.get("generation")
    killed = api.wait_job(job_id, 120)
    retry = re.search(r"retried by job (\w+)", killed.get("message") or "")
    recovered = api.wait_job(retry.group(1), 300) if retry else None
    expected.add(body["document_id"])
    problem = check_documents(api, expected)
    found = api.call("GET", f"/api/search?q={word}&k=1&mode=keyword")[1]["results"]
    ok = (killed["status"] == "failed" and "SIGKILL" in (killed["message"] or "")
          and recovered is not None and recovered["status"] == "succeeded"
          and search_status == health_status == 200 and problem is None
          and bool(found) and found[0]["document"]["id"] == body["document_id"])
    # the old generation, or the new one when the kill came just after it was published
    served = f"{serving}{'' if serving == before else ' (new)'}, search {search_status}"
    return {"missed": False, "ok": ok, "delay": delay, "phase": phase, "served": served,
            "problem": problem,
            "retry": recovered["report"]["generation"] if recovered and recovered["report"]
            else None}


def kill_trials(api: Api, expected: set[str], trials: int, window: float) -> dict[str, Any]:
    chooser, missed = random.Random(20240601), 0
    results: list[dict[str, Any]] = []
    while len(results) < trials and missed < 3 * trials:
        outcome = kill_trial(api, expected, window, chooser)
        if outcome["missed"]:
            missed += 1
            window = max(0.5, outcome["delay"] * 0.7)  # the build beat us: kill sooner
            continue
        results.append(outcome)
    passed = sum(1 for r in results if r["ok"])
    phases = Counter(r["phase"] for r in results)
    delays = ", ".join(f"{r['delay']:.1f}" for r in results)
    return {"check": f"kill -9 of the builder at a random moment, {trials} trials",
            "ok": passed == trials,
            "result": f"{passed}/{trials} recovered with identical document sets",
            "detail": f"killed {delays} s after the "
                      f"builder appeared (phases {dict(phases)}); searches kept answering 200 "
                      f"right after each kill; {missed} attempt(s) "
                      f"missed because the build finished first"
                      + "".join(f"; {r['problem']}" for r in results if r["problem"]),
            "trials": results}


def corrupt_live_vectors(api: Api, server: Server, expected: set[str]) -> dict[str, Any]:
    index = server.root / "index"
    live = (index / "CURRENT").read_text().strip()
    # a segment only the live generation holds: older ones are hard-linked into (and
    # shared with) the fallback generations, which must stay good
    vectors = next(path for path in sorted((index / live / "segments").rglob("vectors.faiss"))
                   if path.stat().st_nlink == 1)
    # In place, like disk damage. Workers memory-map the vectors, so no request is sent
    # until the reload has replaced them: a search on the old mapping would hit SIGBUS.
    with vectors.open("r+b") as handle:
        handle.truncate(vectors.stat().st_size // 3)
    server.reload()
    wait_until(lambda: api.health()[1].get("status") == "degraded", 180, "the fallback")
    status, health = api.health()
    search_status = api.call("GET", "/api/search?q=urgent+care")[0]
    fallback_ok = health["generation"] != live and search_status == 200
    served = len(api.documents())
    code, body = api.call("POST", "/api/reindex", b"", admin=True)
    repair = api.wait_job(body["job_id"], 300)
    repaired = api.health()[1]
    problem = check_documents(api, expected)
    ok = fallback_ok and repair["status"] == "succeeded" and repaired["status"] == "ok" \
        and problem is None
    return {"check": "truncate the live vectors.faiss, then reload (SIGHUP)", "ok": ok,
            "result": f"fell back to {health['generation']}; repaired by "
                      f"{repair['report']['generation'] if repair['report'] else 'nothing'}",
            "detail": f"health said {health['status']!r}: {shorten(health['problem'])}; searches "
                      f"answered {search_status} from {served} documents; POST /api/reindex "
                      f"rolled back past {live} and rebuilt; health then {repaired['status']!r}"
                      + (f"; {problem}" if problem else "")}


def truncate_upload_reload(api: Api, server: Server, expected: set[str]) -> dict[str, Any]:
    """Issue #12: truncate -s 8192 the live index.sqlite, upload, kill -HUP the master."""
    index = server.root / "index"
    if len([p for p in index.iterdir() if p.name.startswith("gen-")]) < 2:
        # as in the issue, an older good generation exists (a fresh index has just one)
        document_id, job = upload_and_wait(api, "before-damage", 900)
        assert job["status"] == "succeeded", job
        expected.add(document_id)
    live = (index / "CURRENT").read_text().strip()
    os.truncate(index / live / "index.sqlite", 8192)  # SQLite reads it; nothing maps it
    seen = {"damaged": api.health()[1], "documents": api.call("GET", "/api/documents")[0]}
    name, content, _ = unique_document("integrity")
    status, body = api.upload(name, content)
    assert status == 202, body
    server.reload()  # while the upload's build runs
    seen["reloaded"] = api.health()[1]
    searches = [api.call("GET", f"/api/search?q={urllib.parse.quote(q)}")[0] for q in QUESTIONS]
    job = api.wait_job(body["job_id"], 900)
    retried = re.search(r"retried by job (\w+)", job.get("message") or "")
    if job["status"] == "failed" and retried:  # the HUP ended the worker running the job
        job = api.wait_job(retried.group(1), 900)
    expected.add(body["document_id"])
    after = api.health()[1]
    kept = sorted(p.name for p in index.iterdir() if p.name.startswith("gen-"))
    problem = check_documents(api, expected)
    reloaded = seen["reloaded"]
    ok = (seen["damaged"].get("status") == "degraded" and seen["documents"] == 200
          and reloaded.get("status") == "degraded" and reloaded.get("bad_generation") == live
          and set(searches) == {200} and job["status"] == "succeeded"
          and after.get("status") == "ok" and problem is None)
    return {"check": "truncate -s 8192 the live index.sqlite, upload, kill -HUP", "ok": ok,
            "result": f"served {reloaded.get('generation')} ('{reloaded.get('status')}', "
                      f"naming {reloaded.get('bad_generation')}) after the HUP; the upload "
                      f"published {after.get('generation')}, health then '{after.get('status')}'",
            "detail": f"before any reload health said '{seen['damaged'].get('status')}' serving "
                      f"{seen['damaged'].get('generation')} and /api/documents answered "
                      f"{seen['documents']}; {len(searches)} searches after the HUP answered "
                      f"{sorted(Counter(searches).items())}; generations left on disk: "
                      f"{', '.join(kept)}" + (f"; {problem}" if problem else "")}


def big_text(megabytes: int) -> bytes:
    """A plain-text plan of about this many MB, with enough distinct words to chunk."""
    lines, size, n = [], 0, 0
    while size < megabytes * 1_000_000:
        line = (f"Ward {n} will open community diagnostic centre number {n % 997} and cut "
                f"waiting times for elective care by {n % 40} weeks in year {2024 + n % 7}.\n")
        lines.append(line)
        size += len(line)
        n += 1
    return ("# A very large plan\n\n" + "".join(lines)).encode()


def big_upload_then_small(api: Api, server: Server, expected: set[str]) -> dict[str, Any]:
    """Issue #12: a 49 MB text file must not hold up a small upload behind it."""
    started = time.monotonic()
    status, big = api.upload("very-large-plan.txt", big_text(49))
    assert status == 202, big
    name, content, _ = unique_document("behind")
    status, small = api.upload(name, content)
    assert status == 202, small
    queued = time.monotonic()
    small_job = api.wait_job(small["job_id"], 1800)
    small_done = time.monotonic() - queued
    big_job = api.wait_job(big["job_id"], 60)
    big_s = parse_time(big_job["finished_at"]) - parse_time(big_job["created_at"])
    expected.add(small["document_id"])
    reason = big_job["files"][0].get("reason", "")
    problem = check_documents(api, expected)
    ok = (big_job["status"] == "failed" and reason.startswith("too large to index")
          and small_job["status"] == "succeeded" and problem is None)
    return {"check": "a 49 MB text upload, then a small upload behind it", "ok": ok,
            "result": f"49 MB upload {big_job['status']}; the small one {small_job['status']} "
                      f"{small_done:.0f} s after it was queued",
            "detail": f"refusal: {shorten(reason)}; the 49 MB job took {big_s:.0f} s from "
                      f"upload to failure (upload request {queued - started:.0f} s)"
                      + (f"; {problem}" if problem else "")}


def cancel_running_upload(api: Api, server: Server, expected: set[str]) -> dict[str, Any]:
    """DELETE /api/jobs/<id> of an upload that is embedding; a small upload behind it."""
    before = api.health()[1]["generation"]
    status, medium = api.upload("medium-plan.txt", big_text(2))  # about 3,000 chunks
    assert status == 202, medium
    name, content, _ = unique_document("after-cancel")
    status, small = api.upload(name, content)
    assert status == 202, small
    wait_until(lambda: api.job(medium["job_id"])["progress"].get("chunks_done"), 900,
               "the medium upload to start embedding")
    progress = api.job(medium["job_id"])["progress"]
    asked = time.monotonic()
    code, answer = api.call("DELETE", f"/api/jobs/{medium['job_id']}", admin=True)
    cancelled = api.wait_job(medium["job_id"], 300)
    stopped = time.monotonic() - asked
    serving = api.health()[1]["generation"]
    small_job = api.wait_job(small["job_id"], 900)
    expected.add(small["document_id"])
    problem = check_documents(api, expected)
    ok = (code == 202 and cancelled["status"] == "cancelled" and serving == before
          and small_job["status"] == "succeeded" and problem is None)
    return {"check": "cancel a running upload (DELETE /api/jobs/<id>), small upload behind it",
            "ok": ok, "result": f"{cancelled['status']} {stopped:.1f} s after the DELETE "
                                f"({code}); the small one {small_job['status']}",
            "detail": f"cancelled at {progress.get('chunks_done')}/{progress.get('chunks_total')}"
                      f" chunks ({progress.get('chunks_per_s')} chunks/s, eta "
                      f"{progress.get('eta_s')} s); still serving {serving} right after"
                      + (f"; {problem}" if problem else "")}


def upload_pdfs(api: Api, pdfs: Path, expected: set[str], timeout: float) -> dict[str, Any]:
    files, jobs = sorted(pdfs.glob("*.pdf")), {}
    started = time.monotonic()
    for path in files:
        status, body = api.upload(path.name, path.read_bytes())
        assert status == 202, body
        jobs[path.name] = body["job_id"]
    rows, specific = [], 0
    for name, job_id in jobs.items():
        job = api.wait_job(job_id, max(30.0, timeout - (time.monotonic() - started)))
        entry = job["files"][0]
        seconds = (parse_time(job["finished_at"]) - parse_time(job["created_at"]))
        if entry["status"] == "indexed":
            expected.add(entry["document_id"])
        reason = entry.get("reason", "")
        specific += entry["status"] == "indexed" or bool(reason) and not reason.startswith(
            ("could not parse", "the builder", "interrupted"))
        rows.append((name, entry["status"], reason, seconds))
    problem = check_documents(api, expected)
    indexed = sum(1 for r in rows if r[1] == "indexed")
    return {"check": f"the {len(files)} PDFs in ../shared/pdfs uploaded through the API",
            "ok": specific == len(files) and problem is None,
            "result": f"{indexed} indexed, {len(files) - indexed} failed with a specific reason",
            "detail": f"all done {time.monotonic() - started:.0f} s after the first upload "
                      "(parse limit per file: PLANSEARCH_PARSE_TIMEOUT_S, 180 s)"
                      + (f"; {problem}" if problem else ""),
            "rows": rows}


def abusive_chat(turns: int = 50) -> bytes:
    """The attack from issue #12: every turn a ~1,000-character follow-up."""
    first = ("what are the plans for " + FILLER * 20)[:990]
    follow_up = ("and what about " + FILLER * 20)[:990]
    messages = [{"role": "user", "content": first}] + [
        {"role": "user", "content": f"{follow_up} {n}"} for n in range(turns - 1)]
    return json.dumps({"messages": messages, "k": 5}).encode()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[int(fraction * (len(ordered) - 1))]


def abuse_client(port: int, chats: int, seconds: float, results: Any) -> None:
    """In a process of its own, so the abusers' threads don't compete with the measuring
    client for one interpreter lock: `chats` threads send the long chat back to back."""
    api, body = Api(port, ""), abusive_chat()
    lock, deadline = threading.Lock(), time.monotonic() + seconds
    statuses: Counter[str] = Counter()
    times: list[float] = []

    def abuse() -> None:
        while time.monotonic() < deadline:  # never honouring Retry-After
            started = time.perf_counter()
            try:
                status = str(api.call("POST", "/api/chat", body, timeout=120, headers={
                    "Content-Type": "application/json"})[0])
            except OSError as error:
                status = type(error).__name__
            with lock:
                statuses[status] += 1
                times.append(time.perf_counter() - started)

    threads = [threading.Thread(target=abuse) for _ in range(chats)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 180)
    results.put((dict(statuses), times))


def abusive_chats(api: Api, chats: int, seconds: float) -> dict[str, Any]:
    """`chats` clients send 50-turn chats back to back while one client searches."""
    import multiprocessing

    def search_for(duration: float) -> tuple[list[float], Counter[str]]:
        latencies: list[float] = []
        statuses: Counter[str] = Counter()
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            started = time.perf_counter()
            statuses[str(api.call("GET", "/api/search?q=elective+hub&k=5", timeout=120)[0])] += 1
            latencies.append(time.perf_counter() - started)
            time.sleep(0.05)
        return latencies, statuses

    # the same searches alone first: the machine is shared, so the baseline matters
    alone, _ = search_for(seconds / 2)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    port = int(api.base.rsplit(":", 1)[1])
    abusers = context.Process(target=abuse_client, args=(port, chats, seconds + 4, results))
    abusers.start()
    time.sleep(2.0)  # let the chats fill the worker threads first
    latencies, statuses = search_for(seconds)
    chat_statuses, chat_times = results.get(timeout=seconds + 240)
    abusers.join(60)
    p99 = percentile(latencies, 0.99)
    return {"check": f"{chats} clients sending 50-turn chats of ~1,000-character follow-ups "
                     f"for {seconds:.0f} s, one client searching meanwhile",
            "ok": p99 < 0.2 and set(statuses) == {"200"},
            "result": f"search p99 {p99 * 1000:.0f} ms over {len(latencies)} searches",
            "detail": f"search p50 {percentile(latencies, 0.5) * 1000:.0f} ms, max "
                      f"{max(latencies) * 1000:.0f} ms, statuses {dict(statuses)}; the same "
                      f"searches alone just before: p50 {percentile(alone, 0.5) * 1000:.0f} ms, "
                      f"p99 {percentile(alone, 0.99) * 1000:.0f} ms; load average "
                      f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; chats: "
                      f"{len(chat_times)} answered, p50 {percentile(chat_times, 0.5):.2f} s, "
                      f"max {max(chat_times or [0]):.2f} s, statuses {chat_statuses}"}


def parallel_duplicates(api: Api, copies: int) -> dict[str, Any]:
    """`copies` uploads of the same bytes under different names, all at once."""
    _, content, word = unique_document("twin")
    start, lock = threading.Barrier(copies), threading.Lock()
    answers: list[tuple[int, Any]] = []

    def send(number: int) -> None:
        start.wait(60)
        answer = api.upload(f"twin-{number}-{word}.md", content)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    statuses = Counter(status for status, _ in answers)
    jobs = {body.get("job_id") for _, body in answers if isinstance(body, dict)}
    for job_id in jobs - {None}:
        api.wait_job(job_id, 300)
    found = api.call("GET", f"/api/search?q={word}&k=10&mode=keyword")[1]["results"]
    stored = {hit["document"]["id"] for hit in found}
    ok = statuses == Counter({202: 1, 200: copies - 1}) and len(stored) == 1
    return {"check": f"{copies} parallel uploads of identical bytes under different names",
            "ok": ok, "result": f"{len(stored)} document stored and indexed",
            "detail": f"answers {dict(sorted(statuses.items()))}; every answer names job(s) "
                      f"{sorted(j[:8] for j in jobs if j)}; documents holding the bytes: "
                      f"{sorted(stored)}"}


def question_script(api: Api, questions: int, limit: int) -> dict[str, Any]:
    """Questions in a row from loopback, then as a remote client behind the proxy."""
    def ask(headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        request = urllib.request.Request(
            f"{api.base}/api/search?q={urllib.parse.quote(QUESTIONS[0])}&k=5&mode=keyword",
            headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()
                return response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, dict(error.headers)

    started = time.monotonic()
    local = Counter(ask({})[0] for _ in range(questions))
    local_s = time.monotonic() - started
    # as a remote client: as fast as 4 threads go, so the count passes the limit
    # within one window
    remote: list[tuple[int, dict[str, str]]] = []
    lock, total = threading.Lock(), limit + 100

    def remote_client() -> None:
        while True:
            with lock:
                if len(remote) >= total:
                    return
            answer = ask({"X-Forwarded-For": PROXIED})
            with lock:
                remote.append(answer)

    started = time.monotonic()
    threads = [threading.Thread(target=remote_client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    remote_s = time.monotonic() - started
    statuses = Counter(status for status, _ in remote)
    retry_after = {headers.get("Retry-After") for status, headers in remote if status == 429}
    ok = (set(local) == {200} and statuses.get(200) == limit
          and statuses.get(429, 0) == len(remote) - limit and None not in retry_after
          and remote_s < 60)
    return {"check": f"{questions} questions in a row from loopback, then {len(remote)} from "
                     f"one remote client (X-Forwarded-For from the trusted proxy)",
            "ok": ok,
            "result": f"loopback: {dict(local)}; remote: {dict(sorted(statuses.items()))}",
            "detail": f"limit {limit}/minute counted once across both workers; loopback run "
                      f"{local_s:.1f} s, remote run {remote_s:.1f} s; every 429 had Retry-After "
                      f"({', '.join(sorted(str(r) for r in retry_after)) or 'none'} s)"}


def shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def parse_time(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp).timestamp()


# --- running and reporting -------------------------------------------------------------

def render(results: list[dict[str, Any]], seconds: float, command: str) -> str:
    lines = [f"Run {time.strftime('%Y-%m-%d %H:%M %Z')} on {os.cpu_count()} CPUs in "
             f"{seconds / 60:.1f} min: `{command}`", "",
             "| check | result | passed | detail |", "|---|---|---|---|"]
    for result in results:
        lines.append(f"| {result['check']} | {result['result']} | "
                     f"{'yes' if result['ok'] else '**NO**'} | {cell(result['detail'])} |")
    for result in results:
        if "rows" in result:
            lines += ["", "| PDF | outcome | reason | job seconds |", "|---|---|---|---|"]
            lines += [f"| {name} | {status} | {cell(reason) or '–'} | {took:.0f} |"
                      for name, status, reason, took in result["rows"]]
        if "trials" in result:
            lines += ["", "| trial | killed (s after the builder appeared) | job phase | "
                          "served right after | "
                          "retry published | recovered |", "|---|---|---|---|---|---|"]
            lines += [f"| {i} | {t['delay']:.1f} | {t['phase']} | {t['served']} | {t['retry']} "
                      f"| {'yes' if t['ok'] else '**NO**'} |"
                      for i, t in enumerate(result["trials"], start=1)]
    return "\n".join(lines)


def cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def record(table: str, path: Path, marker: str = "chaos") -> None:
    """Replace the `marker` section of RELIABILITY.md (or append one)."""
    text = path.read_text() if path.exists() else "# Reliability\n"
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    block = f"{start}\n{table}\n{end}"
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def prepare(root: Path, corpus: Path) -> None:
    shutil.copytree(corpus, root / "corpus")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_index.py"), "--json",
                    "--corpus", str(root / "corpus"), "--index", str(root / "index")],
                   check=True, stdout=subprocess.DEVNULL, cwd=ROOT)


def run(args: argparse.Namespace, root: Path) -> list[dict[str, Any]]:
    prepare(root, args.corpus)
    server = Server(root, free_port(), secrets.token_urlsafe(24))
    api = Api(server.port, server.token)
    results: list[dict[str, Any]] = []
    try:
        server.start(api)
        expected = {d["id"] for d in api.documents()}
        available = {
            "rebuild": lambda: rebuild_cycles(api, expected, args.cycles, args.clients),
            "kill": lambda: kill_trials(api, expected, args.kill_trials, window=0.9 * (
                statistics.median(results[0]["durations"]) if results and "durations" in
                results[0] else 20.0)),
            "corrupt": lambda: corrupt_live_vectors(api, server, expected),
            "pdfs": lambda: upload_pdfs(api, args.pdfs, expected, timeout=args.pdf_timeout),
            "abuse": lambda: abusive_chats(api, args.abusive_chats, args.abuse_seconds),
            "duplicates": lambda: parallel_duplicates(api, args.duplicates),
            "questions": lambda: question_script(api, args.questions, limit=1200),
            "integrity": lambda: truncate_upload_reload(api, server, expected),
            "big-upload": lambda: big_upload_then_small(api, server, expected),
            "cancel": lambda: cancel_running_upload(api, server, expected),
        }
        for name in args.stages:
            stage = available[name]
            results.append({**stage(), "stage": name})
            print(f"{'ok ' if results[-1]['ok'] else 'FAIL'} {results[-1]['check']}: "
                  f"{results[-1]['result']}", file=sys.stderr, flush=True)
    finally:
        server.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus",
                        help="documents the server starts with (default: corpus/)")
    parser.add_argument("--pdfs", type=Path, default=ROOT.parent / "shared" / "pdfs",
                        help="PDFs to upload in the last stage (default: ../shared/pdfs)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent search clients")
    parser.add_argument("--cycles", type=int, default=5, help="upload-and-rebuild cycles")
    parser.add_argument("--kill-trials", type=int, default=10, help="kill -9 trials")
    parser.add_argument("--pdf-timeout", type=float, default=600,
                        help="seconds the PDF uploads may take in all")
    parser.add_argument("--stages", nargs="+",
                        choices=FAULT_STAGES + ABUSE_STAGES + INTEGRITY_STAGES,
                        default=list(FAULT_STAGES + ABUSE_STAGES + INTEGRITY_STAGES),
                        help="stages to run, in this order (kill times itself by rebuild)")
    parser.add_argument("--abusive-chats", type=int, default=8,
                        help="clients sending 50-turn chats in the abuse stage")
    parser.add_argument("--abuse-seconds", type=float, default=20,
                        help="how long the abuse stage measures searches")
    parser.add_argument("--duplicates", type=int, default=20,
                        help="parallel uploads of identical bytes")
    parser.add_argument("--questions", type=int, default=500,
                        help="questions asked in a row from loopback")
    parser.add_argument("--record", type=Path, default=ROOT / "RELIABILITY.md",
                        help="file whose chaos section gets the table ('-' for none)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="plansearch-chaos-"))
    try:
        results = run(args, root)
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    command = " ".join(["python scripts/chaos.py", *sys.argv[1:]])
    seconds = time.monotonic() - started
    for names, marker in SECTIONS:
        chosen = [r for r in results if r["stage"] in names]
        if not chosen:
            continue
        table = render(chosen, seconds, command)
        print(table)
        if str(args.record) != "-":
            record(table, args.record, marker)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
