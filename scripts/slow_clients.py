#!/usr/bin/env python
"""Slow clients against a real gunicorn served as `make run` serves it (issue #23), on
127.0.0.1 in a temporary folder: search latency from one client alone, then with 40
connections sending their request headers at one byte a second (each reconnecting when
the server closes it), at the default header timeout. Prints the figures.

`--worker-class gthread` measures gunicorn's own worker instead, for comparison."""

from __future__ import annotations

import argparse
import secrets
import select
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

from harness import Api, ClientThreads, Server, indexed_copy, percentile, served_folder

ROOT = Path(__file__).resolve().parent.parent

SLOW_REQUEST = (b"GET /api/search?q=urgent+care HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"User-Agent: " + b"s" * 400 + b"\r\n\r\n")


class SlowClients(ClientThreads):
    """Connections that each send a request's head one byte per `interval` seconds,
    reconnecting whenever the server closes one, until stopped."""

    join_seconds = 10.0

    def __init__(self, port: int, count: int, interval: float = 1.0) -> None:
        super().__init__(count)
        self.port, self.interval = port, interval
        self.lifetimes: list[float] = []  # connect to server's close
        self.answers: list[bytes] = []  # first line of what came back

    def client(self, number: int) -> None:
        """Connect and trickle, again whenever the server closes, until stopped."""
        while not self.stop.is_set():
            lifetime, answer = self.one_connection()
            if lifetime is not None:
                with self.lock:
                    self.lifetimes.append(lifetime)
                    self.answers.append(answer)

    def one_connection(self) -> tuple[float | None, bytes]:
        """(seconds until the server closed it, or None if we stopped first; its answer)"""
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            for byte in SLOW_REQUEST:
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    return time.monotonic() - started, b""
                if select.select([sock], [], [], self.interval)[0]:
                    try:
                        answer = sock.recv(4096)
                    except OSError:
                        answer = b""
                    return time.monotonic() - started, answer.split(b"\r\n", 1)[0]
                if self.stop.is_set():
                    return None, b""
        return None, b""


def search_for(api: Api, seconds: float, pause: float = 0.5) -> tuple[list[float], int]:
    """Search every `pause` seconds: (latencies of the answered ones, how many failed)."""
    latencies, failed = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            status, _ = api.call("GET", "/api/search?q=elective+hub&k=5", timeout=10)
        except OSError:  # a timeout, or a refused connection
            status = 0
        elapsed = time.perf_counter() - started
        if status == 200:
            latencies.append(elapsed)
        else:
            failed += 1
        time.sleep(max(pause - elapsed, 0))
    return latencies, failed


def figures(latencies: list[float], failed: int) -> str:
    if not latencies:
        return f"no search answered, {failed} failed"
    return (f"search p50 {percentile(latencies, 0.5) * 1000:.0f} ms, p99 "
            f"{percentile(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
            f"over {len(latencies)} answered, {failed} failed or timed out (10 s)")


def probed_server(args: argparse.Namespace, root: Path) -> Server:
    """`make run`'s server over `root`, with the worker class and threads asked for."""
    settings = {**served_folder(root, secrets.token_urlsafe(24)),
                "PLANSEARCH_THREADS": str(args.threads)}
    # gunicorn applies command-line options over its settings module
    worker = ["--worker-class", args.worker_class] if args.worker_class else []
    return Server(settings, root / "gunicorn.log", options=worker)


def probe(args: argparse.Namespace, root: Path) -> int:
    """Search alone, then beside the slow clients; print the figures (0: none failed)."""
    indexed_copy(args.corpus, root)
    with probed_server(args, root) as server:
        api = Api(server.port)
        search_for(api, 2)  # warm: the first searches open the index
        alone = search_for(api, args.seconds)
        with SlowClients(server.port, args.clients) as slow:
            time.sleep(2)  # let them connect and start trickling
            loaded = search_for(api, args.seconds)
        closed = slow.lifetimes
        answered = sum(1 for a in slow.answers if a.startswith(b"HTTP/1.1 408"))
        print(f"worker: {args.worker_class or 'gunicorn_conf (WholeRequestWorker)'}, "
              f"threads {args.threads}, header timeout: default")
        print(f"alone:                       {figures(*alone)}")
        print(f"with {args.clients} slow clients:       {figures(*loaded)}")
        print(f"slow connections closed by the server: {len(closed)}" + (
            f", after {min(closed):.1f}-{max(closed):.1f} s, {answered} with a 408"
            if closed else ""))
        return 0 if loaded[0] and not loaded[1] else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus",
                        help="documents the server serves (default: corpus/)")
    parser.add_argument("--clients", type=int, default=40, help="slow connections")
    parser.add_argument("--seconds", type=float, default=30,
                        help="how long each phase searches (alone, then with slow clients)")
    parser.add_argument("--worker-class", default="",
                        help="another gunicorn worker class, e.g. gthread (default: make run's)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="plansearch-slow-"))
    try:
        return probe(args, root)
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
