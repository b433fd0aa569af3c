"""The abuse stages: long chats against a concurrent search, parallel identical uploads,
and questions in a row against the rate limits."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from typing import Any

from harness import Api, percentile

from chaos_run.documents import QUESTIONS, unique_document

FILLER = "urgent care waiting times in Gloucestershire hospitals "
PROXIED = "192.0.2.10"  # a client address the loopback "proxy" forwards for


def abusive_chat(turns: int = 50) -> bytes:
    """The attack from issue #12: every turn a ~1,000-character follow-up."""
    first = ("what are the plans for " + FILLER * 20)[:990]
    follow_up = ("and what about " + FILLER * 20)[:990]
    messages = [{"role": "user", "content": first}] + [
        {"role": "user", "content": f"{follow_up} {n}"} for n in range(turns - 1)]
    return json.dumps({"messages": messages, "k": 5}).encode()


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
    abusers = context.Process(target=abuse_client, args=(api.port, chats, seconds + 4, results))
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
    for job_id in jobs:
        if job_id is not None:
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


