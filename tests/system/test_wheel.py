"""The wheel holds the service package with its data, static files and templates, and no
benchmarking or scripts code (those stay in the repository)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from paths import ROOT


def build_wheel(tmp_path: Path) -> list[str]:
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources.
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    for folder in ("service", "scripts"):
        shutil.copytree(ROOT / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
                    "--no-build-isolation", "--no-index", "--quiet", "-w", str(dist)],
                   check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = dist.glob("plansearch-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_wheel_has_the_service_and_nothing_else(tmp_path: Path) -> None:
    names = build_wheel(tmp_path)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert {name.split("/")[0] for name in names} == {"service", f"plansearch-{version}.dist-info"}
    assert [name for name in names if "benchmarking" in name or "scripts" in name] == []
    for folder in ("data", "web/static", "web/static/pdfjs", "web/templates"):
        shipped = {path.relative_to(ROOT).as_posix()
                   for path in (ROOT / "service" / folder).iterdir() if path.is_file()}
        assert shipped, folder
        assert shipped <= set(names), folder
