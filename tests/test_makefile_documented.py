"""The README names every variable the Makefile reads from the command line or environment."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def makefile_inputs(text: str) -> set[str]:
    """`?=` variables, plus `$(VAR)` references the Makefile never assigns itself."""
    overridable = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)\s*\?=", text, re.MULTILINE))
    internal = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:?=", text, re.MULTILINE))
    referenced = set(re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", text))
    return overridable | (referenced - internal - {"MAKE"})


def test_the_parser_finds_what_the_makefile_reads() -> None:
    text = "A ?= $(or $(ENV_A),1)\nB := x\n\nt:\n\t$(MAKE) $(B) $(C) $(A)\n"
    assert makefile_inputs(text) == {"A", "ENV_A", "C"}


def test_every_makefile_variable_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    inputs = makefile_inputs((ROOT / "Makefile").read_text(encoding="utf-8"))
    assert {"PY", "HOST", "PORT", "INDEX_DIR", "BENCH_ARGS", "PLANSEARCH_HOST"} <= inputs
    undocumented = {name for name in inputs if f"`{name}`" not in readme}
    assert undocumented == set()
