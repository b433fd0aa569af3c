#!/usr/bin/env python
"""A bounded fault run against a real gunicorn server on 127.0.0.1, in a temporary
folder: searches during rebuilds, kill -9 of the builder, a truncated live FAISS file,
the 15 real-world PDFs uploaded through the API, and abuse (long chats against a
concurrent search, parallel identical uploads, question scripts against the rate
limits). Prints tables and records them in RELIABILITY.md. Touches nothing outside its
temporary folder."""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaos_run import abuse, faults, integrity
from chaos_run.report import record, render
from harness import Api, Server, indexed_copy, served_folder

ROOT = Path(__file__).resolve().parent.parent
FAULT_STAGES = ("rebuild", "kill", "corrupt", "pdfs")
ABUSE_STAGES = ("abuse", "duplicates", "questions")
INTEGRITY_STAGES = ("integrity", "big-upload", "cancel")
# each group's table goes to its own RELIABILITY.md section (<!-- NAME:start -->)
SECTIONS = ((FAULT_STAGES, "chaos"), (ABUSE_STAGES, "chaos-abuse"),
            (INTEGRITY_STAGES, "integrity"))
Stage = Callable[[], dict[str, Any]]


def chaos_server(root: Path) -> Server:
    """`make run`'s server over `root`, playing a trusted proxy on loopback as well."""
    settings = {**served_folder(root, secrets.token_urlsafe(24)),
                # Loopback clients are exempt from rate limits by default. The run also
                # plays a trusted proxy on loopback, to send as a remote client.
                "PLANSEARCH_TRUSTED_PROXIES": "127.0.0.1",
                "PLANSEARCH_RATE_LIMIT_SEARCH": "1200/minute"}  # the default, pinned
    return Server(settings, root / "gunicorn.log")


def stages(args: argparse.Namespace, api: Api, server: Server, expected: set[str],
           results: list[dict[str, Any]]) -> dict[str, Stage]:
    """Every stage by name, bound to this run's server and options."""

    def kill_window() -> float:
        # kill within the time a rebuild took, when the rebuild stage has measured it
        durations = results[0].get("durations") if results else None
        return 0.9 * (statistics.median(durations) if durations else 20.0)

    return {
        "rebuild": lambda: faults.rebuild_cycles(api, expected, args.cycles, args.clients),
        "kill": lambda: faults.kill_trials(api, expected, args.kill_trials, kill_window()),
        "corrupt": lambda: faults.corrupt_live_vectors(api, server, expected),
        "pdfs": lambda: faults.upload_pdfs(api, args.pdfs, expected, timeout=args.pdf_timeout),
        "abuse": lambda: abuse.abusive_chats(api, args.abusive_chats, args.abuse_seconds),
        "duplicates": lambda: abuse.parallel_duplicates(api, args.duplicates),
        "questions": lambda: abuse.question_script(api, args.questions, limit=1200),
        "integrity": lambda: integrity.truncate_upload_reload(api, server, expected),
        "big-upload": lambda: integrity.big_upload_then_small(api, expected),
        "cancel": lambda: integrity.cancel_running_upload(api, expected),
    }


def run(args: argparse.Namespace, root: Path) -> list[dict[str, Any]]:
    """Index a copy of the corpus, serve it, and run the chosen stages in order."""
    indexed_copy(args.corpus, root)
    results: list[dict[str, Any]] = []
    with chaos_server(root) as server:
        api = Api(server.port, server.settings["PLANSEARCH_ADMIN_TOKEN"])
        available = stages(args, api, server, {d["id"] for d in api.documents()}, results)
        for name in args.stages:
            results.append({**available[name](), "stage": name})
            print(f"{'ok ' if results[-1]['ok'] else 'FAIL'} {results[-1]['check']}: "
                  f"{results[-1]['result']}", file=sys.stderr, flush=True)
    return results


def options() -> argparse.ArgumentParser:
    """The command line."""
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
    return parser


def main() -> int:
    """Run, print each stage group's table, and record it unless `--record -`."""
    args = options().parse_args()
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
