#!/usr/bin/env python
"""Fetch the documents corpus/sources.yaml lists into the corpus (`make sync`).

Unchanged documents are skipped (the server answers 304, or sends the same bytes); new and
changed ones are saved atomically with their provenance. Build them with `make index`, or
let a running server's folder watcher do it. Exits 1 when any URL failed, after trying
every one."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from service.config import load_config
from service.indexing.fetching import MIB, Limits
from service.indexing.sources import SOURCES_FILE, SourcesError, load_sources
from service.indexing.sync import Synced, sync_sources


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, help="corpus folder "
                        "(default: $PLANSEARCH_CORPUS_DIR, else corpus/)")
    parser.add_argument("--sources", type=Path,
                        help=f"the sources list (default: <corpus>/{SOURCES_FILE})")
    parser.add_argument("--delay", type=float, default=1.0,
                        help="seconds between two requests to one host (default 1; a "
                             "robots.txt Crawl-delay that is longer wins)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait for a connection or for the next data "
                             "(default 30)")
    parser.add_argument("--max-mb", type=float, default=50.0,
                        help="largest document to download, in MiB (default 50)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object: every URL's outcome")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = load_config({"CORPUS_DIR": str(args.corpus)} if args.corpus else None)
    corpus = Path(settings["CORPUS_DIR"])
    listing = args.sources or corpus / SOURCES_FILE
    try:
        sources = load_sources(listing)
    except SourcesError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not corpus.is_dir():
        print(f"error: corpus folder not found: {corpus}", file=sys.stderr)
        return 2
    limits = Limits(timeout_s=args.timeout, max_bytes=int(args.max_mb * MIB),
                    delay_s=args.delay)
    printed = None if args.json else print_line
    outcomes = sync_sources(corpus, sources, limits, on_done=printed)
    counts = {status: sum(o.status == status for o in outcomes)
              for status in ("new", "updated", "unchanged", "failed")}
    if args.json:
        print(json.dumps({**counts, "sources": [o.as_dict() for o in outcomes]}))
    else:
        print(f"{len(outcomes)} source(s) in {listing}: " + ", ".join(
            f"{count} {status}" for status, count in counts.items()))
        if counts["new"] or counts["updated"]:
            print("build them with `make index` (a running server's watcher builds them "
                  "by itself)")
    return 1 if counts["failed"] else 0


def print_line(outcome: Synced) -> None:
    detail = outcome.reason if outcome.status == "failed" else outcome.file
    print(f"{outcome.status:9} {outcome.url}  {detail}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
