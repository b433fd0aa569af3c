"""Slow clients never hold a worker (issue #23, defect 2): gunicorn served as `make run`
serves it reads whole requests in its event loop, closes with 408 a connection whose
head takes longer than PLANSEARCH_HEADER_TIMEOUT_S or whose body arrives slower than
PLANSEARCH_BODY_MIN_RATE_KBPS, and searches from another client go on meanwhile."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from paths import ROOT

from service.web.request_framing import ChunkedScanner, Framing, frame

HEADER_TIMEOUT_S = 2  # the default is 10; small here so the test is quick
TOKEN = "slow-clients-admin-token"
SLOW_HEAD = (b"GET /api/search?q=urgent+care HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             b"User-Agent: " + b"s" * 100 + b"\r\n\r\n")


def test_the_head_declares_how_the_body_is_framed() -> None:
    assert frame(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == Framing("none")
    assert frame(b"POST / HTTP/1.1\r\ncontent-length: 12\r\nExpect: 100-continue\r\n\r\n"
                 ) == Framing("length", 12, expects_continue=True)
    assert frame(b"POST / HTTP/1.0\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n"
                 ) == Framing("length", 12)  # HTTP/1.0 clients do not wait for a 100
    assert frame(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") == Framing("chunked")
    for refused in (b"Content-Length: 1\r\nContent-Length: 2", b"Content-Length: -1",
                    b"Transfer-Encoding: gzip, chunked",
                    b"Transfer-Encoding: chunked\r\nContent-Length: 3"):
        assert frame(b"POST / HTTP/1.1\r\n" + refused + b"\r\n\r\n") == Framing("unframed")


def test_a_chunked_body_ends_after_its_last_chunk_and_trailers() -> None:
    body = b"5;ext=1\r\nhello\r\n10\r\n" + b"x" * 16 + b"\r\n0\r\nTrailer: yes\r\n\r\n"
    scanner = ChunkedScanner()
    # a byte at a time, as a slow client sends it; the end is found on the last byte
    ends = [scanner.feed(body[i:i + 1]) for i in range(len(body))]
    assert ends == [None] * (len(body) - 1) + [1]
    assert ChunkedScanner().feed(body + b"GET / HTTP/1.1\r\n") == len(body)
    with pytest.raises(ValueError):
        ChunkedScanner().feed(b"zz\r\n")


@dataclass(frozen=True)
class Served:
    port: int
    process: subprocess.Popen[bytes]

    def workers(self) -> set[int]:
        return {int(child) for task in Path(f"/proc/{self.process.pid}/task").iterdir()
                for child in (task / "children").read_text().split()}


@pytest.fixture(scope="module")
def served(bundled_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """gunicorn started as `make run` starts it, with a 2 s header timeout."""
    root = tmp_path_factory.mktemp("slow")
    shutil.copytree(bundled_index / "corpus", root / "corpus")  # uploads stage files there
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("PLANSEARCH_")}
    env.update({"HF_HUB_OFFLINE": "1", "PLANSEARCH_INDEX_DIR": str(bundled_index / "index"),
                "PLANSEARCH_CORPUS_DIR": str(root / "corpus"), "PLANSEARCH_WORKERS": "2",
                "PLANSEARCH_THREADS": "4", "PLANSEARCH_ADMIN_TOKEN": TOKEN,
                "PLANSEARCH_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S)})
    with (root / "gunicorn.log").open("wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--config",
             "python:service.web.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
             "service:create_app()"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while search(port, timeout=5)[0] != 200:
            assert process.poll() is None, (root / "gunicorn.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start within 120 s"
            time.sleep(0.2)
        yield Served(port, process)
    finally:
        process.terminate()
        process.wait(60)


def search(port: int, timeout: float = 10) -> tuple[int, float]:
    """One search from a client of its own: (status, or 0 when it failed; seconds)."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/search?q=elective+hub&k=5",
                                    timeout=timeout) as response:
            status = response.status
    except OSError:  # refused while starting, or timed out
        status = 0
    return status, time.monotonic() - started


def trickle(port: int, head: bytes, body: bytes = b"", interval: float = 1.0,
            give_up: float = 15) -> tuple[float, bytes]:
    """Send `head` at once, then `body` a byte per `interval` seconds, until the server
    answers or closes: (seconds that took, the first line of its answer)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=give_up) as sock:
        sock.sendall(head)
        for byte in body:
            if select.select([sock], [], [], interval)[0]:
                break
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            if time.monotonic() - started > give_up:
                return give_up, b""
        answer = sock.recv(4096)
    return time.monotonic() - started, answer.split(b"\r\n", 1)[0]


def attack(port: int, seconds: float) -> list[tuple[float, bytes]]:
    """Trickle a head a byte a second, reconnecting when closed, for about `seconds`."""
    closed, until = [], time.monotonic() + seconds
    while time.monotonic() < until:
        closed.append(trickle(port, b"", SLOW_HEAD, give_up=12))
    return closed


@pytest.fixture
def server(served: Served) -> int:
    """The served port."""
    return served.port


@pytest.mark.slow
def test_forty_slow_heads_are_closed_and_searches_go_on(server: int) -> None:
    """40 connections send their headers at a byte a second (before this fix 8 of them
    held every worker thread, and searches timed out); another client searches every
    half second meanwhile, each answered at its normal latency."""
    with ThreadPoolExecutor(40) as pool:
        attackers = [pool.submit(attack, server, 6) for _ in range(40)]
        time.sleep(0.5)  # all connected and trickling
        searches = []
        while not all(future.done() for future in attackers) and len(searches) < 30:
            searches.append(search(server))
            time.sleep(0.5)
        closed = [c for future in attackers for c in future.result()]
    assert len(searches) >= 10
    assert [status for status, _ in searches] == [200] * len(searches)
    assert max(seconds for _, seconds in searches) < 2
    assert len(closed) >= 80  # each attacker was cut off, and again once it reconnected
    assert {answer for _, answer in closed} == {b"HTTP/1.1 408 Request Timeout"}
    # the loop sweeps once a second, so the cut-off comes within a second of the timeout
    assert all(HEADER_TIMEOUT_S <= seconds < HEADER_TIMEOUT_S + 2 for seconds, _ in closed)


@pytest.mark.slow
def test_a_slow_body_is_cut_off(server: int) -> None:
    head = (b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            b"\r\nContent-Length: 1000\r\n\r\n")
    seconds, answer = trickle(server, head, b'{"q": "' + b"a" * 993, interval=0.2)
    assert answer == b"HTTP/1.1 408 Request Timeout"
    # 8 KiB/s owed from the end of the grace (the header timeout) on: cut at the sweep after
    assert HEADER_TIMEOUT_S <= seconds < HEADER_TIMEOUT_S + 2


@pytest.mark.slow
def test_the_next_request_on_a_kept_alive_connection_is_bounded_too(server: int) -> None:
    request = b"GET /api/search?q=elective+hub HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server), timeout=15) as sock:
        # two requests in one write: the second, pipelined, is answered too
        sock.sendall(request * 2)
        assert read_responses(sock, 2) == [200, 200]
        started = time.monotonic()
        for byte in SLOW_HEAD:
            if select.select([sock], [], [], 0.5)[0]:
                break
            sock.sendall(bytes([byte]))
        assert sock.recv(4096).startswith(b"HTTP/1.1 408 Request Timeout")
        assert time.monotonic() - started < HEADER_TIMEOUT_S + 2


def read_responses(sock: socket.socket, count: int) -> list[int]:
    """The statuses of `count` responses with Content-Length read off a socket."""
    reader = sock.makefile("rb")
    statuses = []
    for _ in range(count):
        statuses.append(int(reader.readline().split()[1]))
        length = 0
        while (line := reader.readline()) not in {b"\r\n", b""}:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        reader.read(length)
    return statuses


@pytest.mark.slow
def test_chunked_and_expect_continue_bodies_are_served(server: int) -> None:
    body = json.dumps({"query": "elective hub", "k": 3}).encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:7], body[7:]))
    with socket.create_connection(("127.0.0.1", server), timeout=15) as sock:
        # with a search pipelined behind it, which is answered too
        sock.sendall(b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     b"application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
                     + b"0\r\n\r\nGET /api/search?q=elective+hub HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_responses(sock, 2) == [200, 200]
        sock.sendall(b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     b"application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
                     % len(body))
        # one interim answer, before the body is sent: gunicorn's own is not repeated
        assert sock.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        assert read_responses(sock, 1) == [200]


@pytest.mark.slow
def test_a_large_upload_on_a_fast_connection_reaches_the_app(server: int) -> None:
    """40 MiB sent at once is read whole and parsed by the app, which names the type it
    detected; over the upload limit, the worker refuses it without reading it."""
    boundary = "slowclientsboundary"
    content = os.urandom(1024) * (40 * 1024)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.pdf"
            f"\"\r\nContent-Type: application/pdf\r\n\r\n").encode() + content + \
        f"\r\n--{boundary}--\r\n".encode()
    headers = {"Authorization": f"Bearer {TOKEN}",
               "Content-Type": f"multipart/form-data; boundary={boundary}"}
    status, answer = post(server, "/api/documents", body, headers)
    assert status == 415 and "detected type" in answer["error"]["message"], answer
    status, answer = post(server, "/api/documents", b"", {
        **headers, "Content-Length": str(50 * 1024 * 1024 + 1)})
    assert status == 413 and "50 MiB" in answer["error"]["message"], answer


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.2)


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_a_reload_replaces_both(served: Served) -> None:
    """The worker class keeps gunicorn's arbiter at work: kill -9 and HUP (run last:
    it replaces the workers the other tests used)."""
    first = served.workers()
    assert len(first) == 2
    os.kill(min(first), signal.SIGKILL)
    wait_for(lambda: len(served.workers() - {min(first)}) == 2, 60)
    wait_for(lambda: search(served.port, timeout=5)[0] == 200, 60)
    before = served.workers()
    served.process.send_signal(signal.SIGHUP)
    wait_for(lambda: not before & served.workers() and len(served.workers()) == 2, 60)
    assert [search(served.port)[0] for _ in range(4)] == [200] * 4
