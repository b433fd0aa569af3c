"""Write the OpenAPI description to tests/data/openapi-snapshot.json, the committed
record of the API contract (issue 28). tests/web/test_openapi_snapshot.py fails when the
spec and the snapshot differ, so that any change to the contract shows in review; run
this after a deliberate change, and commit the snapshot with it.

    PYTHONPATH=. .venv/bin/python scripts/openapi_snapshot.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from service.web.openapi import openapi_spec

SNAPSHOT = Path(__file__).resolve().parent.parent / "tests" / "data" / "openapi-snapshot.json"
COMMAND = "PYTHONPATH=. .venv/bin/python scripts/openapi_snapshot.py"


def snapshot_text(spec: dict[str, Any]) -> str:
    """The spec as the snapshot stores it: stable key order, one value a line."""
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=SNAPSHOT,
                        help="where to write the snapshot (default: %(default)s)")
    args = parser.parse_args(argv)
    args.output.write_text(snapshot_text(openapi_spec()), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
