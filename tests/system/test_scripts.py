"""The scripts run the way the README, BENCHMARKS.md and RELIABILITY.md say, with no
`sys.path` edits (issue #24): `service` is the installed package, and the scripts' own
modules (`harness`, `chaos_run`, `benchmarking`) import because `python scripts/x.py`
puts the scripts folder first on the module path."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from paths import ROOT

SCRIPTS = ROOT / "scripts"


def test_no_script_edits_the_module_path() -> None:
    edits = [path.relative_to(ROOT).as_posix() for path in sorted(SCRIPTS.rglob("*.py"))
             if "sys.path" in path.read_text(encoding="utf-8")]
    assert edits == []


@pytest.mark.parametrize("script", ["build_index.py", "evaluate.py", "bench.py", "chaos.py",
                                    "slow_clients.py", "sync_sources.py"])
def test_a_script_run_as_documented_answers_help(script: str) -> None:
    run = subprocess.run([sys.executable, str(SCRIPTS / script), "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.startswith("usage: ")


def test_percentiles_interpolate_between_ranks_as_numpy_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the scripts folder on the path for this test only, as running a script puts it there
    monkeypatch.syspath_prepend(str(SCRIPTS))
    from harness import percentile

    sample = [0.013, 0.002, 0.005, 0.021, 0.008, 0.003, 0.034]
    for fraction in (0.0, 0.5, 0.95, 0.99, 1.0):
        assert percentile(sample, fraction) == float(np.percentile(sample, fraction * 100))
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert math.isnan(percentile([], 0.99))  # reported as "nan", never as a 0 ms latency
