"""The API contract does not drift (issue 28): the served OpenAPI description equals the
committed tests/data/openapi-snapshot.json, so any change to it shows in review and is
deliberate. The test only reads the snapshot; scripts/openapi_snapshot.py rewrites it."""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from paths import DATA, ROOT, SCRIPTS

from service.web.openapi import openapi_spec

SNAPSHOT = DATA / "openapi-snapshot.json"
MAX_DIFF_LINES = 80


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # the scripts folder on the path for this test only, as running a script puts it there
    monkeypatch.syspath_prepend(str(SCRIPTS))
    import openapi_snapshot

    return openapi_snapshot


def readable_diff(expected: str, actual: str) -> str:
    diff = list(difflib.unified_diff(expected.splitlines(), actual.splitlines(),
                                     "tests/data/openapi-snapshot.json", "openapi_spec()",
                                     lineterm="", n=2))
    more = [f"... and {len(diff) - MAX_DIFF_LINES} more lines"] \
        if len(diff) > MAX_DIFF_LINES else []
    return "\n".join(diff[:MAX_DIFF_LINES] + more)


def test_the_spec_matches_the_committed_snapshot(script: ModuleType) -> None:
    expected = SNAPSHOT.read_text(encoding="utf-8")
    actual = script.snapshot_text(openapi_spec())
    assert actual == expected, (
        f"the OpenAPI spec differs from its committed snapshot:\n"
        f"{readable_diff(expected, actual)}\nIf the change is deliberate, refresh the "
        f"snapshot with `{script.COMMAND}` and commit it.")
    assert json.loads(expected) == openapi_spec()


def test_the_script_writes_the_snapshot_the_test_reads(script: ModuleType,
                                                       tmp_path: Path) -> None:
    assert script.SNAPSHOT == SNAPSHOT
    run = subprocess.run([sys.executable, str(SCRIPTS / "openapi_snapshot.py"), "--output",
                          str(tmp_path / "spec.json")], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "spec.json").read_text(encoding="utf-8") == \
        script.snapshot_text(openapi_spec())


def test_a_changed_spec_fails_with_the_diff_and_the_command(script: ModuleType) -> None:
    spec = openapi_spec()
    spec["info"]["version"] = "9.9.9"
    message = readable_diff(SNAPSHOT.read_text(encoding="utf-8"), script.snapshot_text(spec))
    assert '-    "version": "1.2.0"' in message and '+    "version": "9.9.9"' in message
    assert script.COMMAND == "PYTHONPATH=. .venv/bin/python scripts/openapi_snapshot.py"
