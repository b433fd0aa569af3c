#!/usr/bin/env python
"""Build or update the Plansearch index from a corpus folder."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from service.config import load_config
from service.indexing.build_process import EventProgress, ProgressBar, final_event, run_build


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, help="corpus folder "
                        "(default: $PLANSEARCH_CORPUS_DIR, else corpus/)")
    parser.add_argument("--index", type=Path, help="index folder "
                        "(default: $PLANSEARCH_INDEX_DIR, else index/)")
    parser.add_argument("--full", action="store_true",
                        help="re-read and re-embed every document (also repairs a damaged index)")
    parser.add_argument("--model", help="embedding model name or local folder "
                        "(default: $PLANSEARCH_MODEL, else all-MiniLM-L6-v2)")
    parser.add_argument("--json", action="store_true",
                        help="print the summary as one JSON object on stdout")
    parser.add_argument("--events", action="store_true",
                        help="print JSON lines on stdout: progress events, then the summary "
                             "(the protocol of `python -m service.indexing`)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = load_config({key: str(value) for key, value in (
        ("CORPUS_DIR", args.corpus), ("INDEX_DIR", args.index), ("MODEL", args.model))
        if value is not None})
    if args.events:
        progress = EventProgress(lambda event: print(json.dumps(event), flush=True))
        code, summary, _ = run_build(settings, args.full, progress)
        print(json.dumps(final_event(summary)))
        return code
    bar = ProgressBar() if not args.json else None
    try:
        code, summary, text = run_build(settings, args.full, bar)
    finally:
        if bar is not None:
            bar.close()
    print(json.dumps(summary) if args.json else text)
    return code


if __name__ == "__main__":
    sys.exit(main())
