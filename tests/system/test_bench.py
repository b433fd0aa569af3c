"""`scripts/bench.py --quick` runs end to end and writes well-formed JSON. No timing is
asserted: this 2-core machine is shared, and the numbers belong in BENCHMARKS.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from paths import ROOT


@pytest.mark.slow
def test_quick_benchmark_prints_the_table_and_writes_json(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--json", str(output),
         "--workdir", str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.startswith("| section | measurement | value | target | verdict |")

    results = json.loads(output.read_text())
    sections = results["sections"]
    assert {"build", "encoders", "query", "http"} <= set(sections)
    assert any(name.startswith("incremental_") for name in sections)
    assert any(name.startswith("ann_") for name in sections)
    assert any(name.startswith("scale_") for name in sections)
    assert not [name for name, value in sections.items() if "error" in value]

    build = sections["build"]
    assert build["chunks"] > 0 and build["raw_chunks_per_s"] > 0
    query = sections["query"]
    for label in ("cold", "warm"):
        assert query[label]["total"]["n"] > 0
        assert query[label]["stages"]["embed"] != "n/a" or label == "warm"
    http = sections["http"]
    assert http["start_to_first_answer_s"] > 0
    assert all(run["requests"] > 0 and run["errors"] == 0 for run in http["warm"])
    assert all(worker["rss"] > 0 for worker in http["memory_mb"]["workers"])
    assert results["machine"]["nproc"] >= 1


@pytest.mark.slow
def test_the_scale_section_at_any_size_writes_the_headline_keys(tmp_path: Path) -> None:
    output = tmp_path / "scale.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--only", "scale",
         "--chunks", "2000", "--json", str(output), "--workdir", str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(output.read_text())
    assert set(results["sections"]) == {"scale_2000", "scale_library_2000"}
    assert results["chunks"] == 2000
    for key in ("search_p50_ms", "search_p99_ms", "add_document_s", "add_document_encode_s",
                "start_to_first_answer_s", "worker_pss_mb"):
        assert isinstance(results[key], float) and results[key] > 0, key
