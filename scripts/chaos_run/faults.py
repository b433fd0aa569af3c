"""The fault stages: searches through rebuilds, kill -9 of the builder, a truncated live
FAISS file, and the real-world PDFs uploaded through the API."""

from __future__ import annotations

import os
import random
import re
import signal
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

from harness import Api, ClientThreads, Server, percentile, wait_until

from chaos_run.documents import (
    QUESTIONS,
    check_documents,
    job_seconds,
    shorten,
    unique_document,
    upload_and_wait,
)

# an admin job's builder runs as `python -m service.indexing` (service/indexing/build_process.py);
# a pid that no longer runs it was reused after the build ended, and is never killed
BUILDER = b"service.indexing"


class SearchClients(ClientThreads):
    """Clients searching in a loop; every status (or exception) is counted."""

    def __init__(self, api: Api, count: int) -> None:
        super().__init__(count)
        self.api = api
        self.statuses: Counter[str] = Counter()
        self.latencies: list[float] = []

    def client(self, number: int) -> None:
        """Search for the questions in a random order of its own until stopped."""
        chooser = random.Random(number)
        while not self.stop.is_set():
            query = urllib.parse.quote(chooser.choice(QUESTIONS))
            started = time.perf_counter()
            try:
                status = str(self.api.call("GET", f"/api/search?q={query}&k=5", timeout=30)[0])
            except OSError as error:
                status = type(error).__name__
            with self.lock:
                self.statuses[status] += 1
                self.latencies.append(time.perf_counter() - started)

    def summary(self) -> tuple[int, int, str]:
        """(searches, how many were not answered 200, their latency figures)"""
        total = sum(self.statuses.values())
        failed = total - self.statuses.get("200", 0)
        timing = (f"p50 {percentile(self.latencies, 0.5) * 1000:.0f} ms, "
                  f"p95 {percentile(self.latencies, 0.95) * 1000:.0f} ms")
        return total, failed, timing


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
        if BUILDER not in cmdline or job["status"] != "running":
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
    index = server.index_dir
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
        seconds = job_seconds(job)
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


