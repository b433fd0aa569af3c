#!/usr/bin/env python
"""Build or update the Plansearch index from a corpus folder."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.indexing.cli import run_build  # noqa: E402


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
                             "(used by the admin job runner)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    emit = event_printer() if args.events else None
    code, summary, text = run_build(args.corpus, args.index, args.model, args.full,
                                    progress_bar=not (args.json or args.events), events=emit)
    if emit is not None:
        emit({"event": "error" if "error" in summary else "summary", **(
            {"message": summary["error"], "locked": summary.get("locked", False)}
            if "error" in summary else summary)})
    else:
        print(json.dumps(summary) if args.json else text)
    return code


def event_printer() -> Callable[[dict[str, Any]], None]:
    def emit(event: dict[str, Any]) -> None:
        print(json.dumps(event), flush=True)

    return emit


if __name__ == "__main__":
    sys.exit(main())
