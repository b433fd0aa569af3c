#!/usr/bin/env python
"""Benchmark build throughput, query latency (in process and over HTTP), memory,
start-up and scale; print one table and write the results as JSON."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from benchmarking.report import table
from benchmarking.run import FULL, QUICK, Benchmark
from benchmarking.scale_bench import headline

ROOT = Path(__file__).resolve().parent.parent


def options() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and short runs (under 3 minutes); skips 100k/1M")
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results" / "latest.json",
                        help="where to write the results (default: bench-results/latest.json)")
    parser.add_argument("--workdir", type=Path,
                        default=Path(os.environ.get("PLANSEARCH_BENCH_DIR",
                                                    ROOT / ".cache" / "bench")),
                        help="scratch folder for corpora and indexes (default: .cache/bench, "
                        "or $PLANSEARCH_BENCH_DIR)")
    parser.add_argument("--backends", default="onnx,onnx-int8",
                        help="encoders compared with torch: comma-separated from onnx, "
                        "onnx-int8, or 'none'")
    parser.add_argument("--http-tool", choices=["auto", "wrk", "asyncio"], default="auto",
                        help="load generator: wrk if installed (auto), or the asyncio client")
    parser.add_argument("--only", help="comma-separated section names (or prefixes) to run "
                        "(default: all), e.g. build,query,http,incremental,ann,scale")
    parser.add_argument("--chunks", type=int,
                        help="the scale section's synthetic generation size (replaces the "
                        "plan's), served by gunicorn; its headline figures go to the top "
                        "level of the JSON")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other sections already in the --json file")
    return parser


def main() -> int:
    """Run the chosen sections, saving after each; print the table (1: a section failed)."""
    parser = options()
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        stream=sys.stderr)
    for noisy in ("sentence_transformers", "faiss", "httpx", "service.embedding.models"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    backends = tuple(b for b in args.backends.split(",") if b and b != "none")
    earlier = json.loads(args.json.read_text()) if args.merge and args.json.exists() else None
    args.json.parent.mkdir(parents=True, exist_ok=True)

    def save(results: dict) -> None:
        if earlier is not None:
            for key in ("sections", "seconds", "load_average"):
                results[key] = {**earlier.get(key, {}), **results.get(key, {})}
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")

    plan = QUICK if args.quick else FULL
    if args.chunks is not None:
        if args.chunks < 100:
            parser.error("--chunks must be at least 100 (one synthetic document)")
        plan = replace(plan, generation_sizes=(args.chunks,), serve_largest=True)
    benchmark = Benchmark(plan, args.workdir, backends, args.http_tool, checkpoint=save)
    if args.only:
        benchmark.only = set(args.only.split(","))
    started = time.perf_counter()
    results = benchmark.run()
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    scale = results["sections"].get(f"scale_{args.chunks}")
    if isinstance(scale, dict) and "error" not in scale:
        results.update(headline(scale))
    save(results)
    print(table(results))
    print(f"\n{'quick' if args.quick else 'full'} run: {results['total_seconds']} s; "
          f"JSON in {args.json}")
    failed = [name for name, value in results["sections"].items()
              if isinstance(value, dict) and "error" in value]
    if failed:
        print(f"sections that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
