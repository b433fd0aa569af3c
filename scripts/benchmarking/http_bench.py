"""The real server under load: gunicorn as `make run` starts it, on loopback, driven by
wrk (with a Lua script that varies the query) or, where wrk is missing, by a small
asyncio client. Every run is bounded in time; the server is stopped afterwards."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from harness import Server

from benchmarking.measure import percentiles, proc_memory_mb

WRK_SCRIPT = """
local queries, counter, stride, prefix = {}, 0, 1, "/api/search?k=5&q="
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  for line in io.lines(args[1]) do table.insert(queries, line) end
  stride = tonumber(args[2])
  prefix = args[3]
  counter = tid
end
function request()
  local q = queries[(counter % #queries) + 1]
  counter = counter + stride
  return wrk.format("GET", prefix .. q)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, "p50_us": %d, ' ..
    '"p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    latency.max))
end
"""


def bench_server(index_dir: Path, app: str, env: dict[str, str] | None) -> Server:
    """gunicorn serving `index_dir` with the project's settings (or, torch-free, the
    benchmark's copy of them), its log beside the index."""
    # imported here: the settings module reads the configuration when imported
    from benchmarking import gunicorn_bench

    settings = {"PLANSEARCH_INDEX_DIR": str(index_dir),
                # the per-client limit would answer 429 to a load generator; a huge one
                # keeps the limiter's own per-request cost in the measurement
                "PLANSEARCH_RATE_LIMIT_SEARCH": "100000000/minute", **(env or {})}
    config = "service.web.gunicorn_conf"
    if gunicorn_bench.needed(settings.get("PLANSEARCH_BENCH_NO_TORCH") == "1"):
        config = "benchmarking.gunicorn_bench"
    return Server(settings, index_dir.parent / "gunicorn.log", config=config, app=app)


def server_memory(server: Server) -> dict[str, Any]:
    """RSS and PSS of the master and of each worker, in MB."""
    assert server.process is not None
    return {"master": proc_memory_mb(server.process.pid),
            "workers": [proc_memory_mb(pid) for pid in sorted(server.workers())]}


SEARCH = "/api/search?k=5&q="


def run_wrk(port: int, queries: Sequence[str], concurrency: int, seconds: float,
            prefix: str = SEARCH) -> dict[str, Any]:
    threads = min(2, concurrency)
    with tempfile.TemporaryDirectory() as folder:
        script, data = Path(folder) / "queries.lua", Path(folder) / "queries.txt"
        script.write_text(WRK_SCRIPT)
        data.write_text("\n".join(quote_plus(q) for q in queries) + "\n")
        out = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(seconds))}s",
             "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}", "--",
             str(data), str(threads), prefix],
            capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(line for line in out.stdout.splitlines() if line.startswith("{"))
    raw = json.loads(line)
    duration = raw["duration_us"] / 1e6
    return {"tool": "wrk", "concurrency": concurrency, "seconds": round(duration, 2),
            "requests": raw["requests"], "errors": raw["errors"] + raw["non2xx"],
            "rps": round(raw["requests"] / duration, 1), "p50_ms": raw["p50_us"] / 1000,
            "p90_ms": raw["p90_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
            "max_ms": raw["max_us"] / 1000}


async def _client(port: int, queries: Sequence[str], start: int, stride: int, deadline: float,
                  latencies: list[float], errors: list[int], prefix: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = start
    try:
        while time.perf_counter() < deadline:
            path = f"{prefix}{quote_plus(queries[i % len(queries)])}"
            i += stride
            began = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - began) * 1000)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


def run_asyncio(port: int, queries: Sequence[str], concurrency: int, seconds: float,
                prefix: str = SEARCH) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[int] = []

    async def main() -> float:
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(_client(port, queries, i, concurrency, deadline, latencies,
                                       errors, prefix) for i in range(concurrency)))
        return time.perf_counter() - started

    duration = asyncio.run(main())
    stats = percentiles(latencies)
    return {"tool": "asyncio", "concurrency": concurrency, "seconds": round(duration, 2),
            "requests": len(latencies), "errors": len(errors),
            "rps": round(len(latencies) / duration, 1), "p50_ms": stats.get("p50"),
            "p90_ms": None, "p99_ms": stats.get("p99"), "max_ms": max(latencies, default=None)}


def load_run(port: int, queries: Sequence[str], concurrency: int, seconds: float,
             tool: str = "auto", prefix: str = SEARCH) -> dict[str, Any]:
    if tool == "wrk" or (tool == "auto" and shutil.which("wrk")):
        result = run_wrk(port, queries, concurrency, seconds, prefix)
    else:
        result = run_asyncio(port, queries, concurrency, seconds, prefix)
    # more requests than queries means later ones were cache hits: not cold any more
    result["queries"] = len(queries)
    return result


def http_benchmark(index_dir: Path, warm_queries: Sequence[str],
                   cold_queries: Sequence[Sequence[str]], concurrencies: Sequence[int],
                   seconds: float, tool: str = "auto", app: str = "service:create_app()",
                   env: dict[str, str] | None = None, rerank: bool = False) -> dict[str, Any]:
    """Start-up, then warm and cold runs at each concurrency, then memory."""
    server = bench_server(index_dir, app, env)
    result: dict[str, Any] = {"app": app, "env": env or {}}
    try:
        result["start_to_first_answer_s"] = round(server.start(), 2)
        result["gunicorn_config"] = server.config
        # warm both workers' caches with every warm query before measuring
        load_run(server.port, warm_queries, 4, max(2.0, seconds / 2), tool)
        result["warm"] = [load_run(server.port, warm_queries, c, seconds, tool)
                          for c in concurrencies]
        result["cold"] = [load_run(server.port, queries, c, seconds, tool)
                          for c, queries in zip(concurrencies, cold_queries, strict=False)]
        if rerank:
            rerank_prefix = "/api/search?k=5&mode=hybrid%2Brerank&q="
            load_run(server.port, warm_queries, 4, max(2.0, seconds / 2), tool, rerank_prefix)
            result["warm_rerank"] = [load_run(server.port, warm_queries, 1, seconds, tool,
                                              rerank_prefix)]
        result["memory_mb"] = server_memory(server)
    finally:
        server.stop()
    return result
