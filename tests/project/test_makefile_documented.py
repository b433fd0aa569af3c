"""docs/development.md names every variable the Makefile reads from the command line or
environment, and the README and docs name only targets the Makefile has."""

from __future__ import annotations

import re

from paths import ROOT

MAKE_BUILTINS = {"MAKE", "CURDIR", "MAKEFLAGS", "MAKECMDGOALS", "SHELL", "MAKEFILE_LIST"}
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.DOTALL)  # closed by as many backticks


def makefile_inputs(text: str) -> set[str]:
    """`?=` variables, plus `$(VAR)` references the Makefile never assigns itself."""
    overridable = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)\s*\?=", text, re.MULTILINE))
    internal = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:?=", text, re.MULTILINE))
    referenced = set(re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", text))
    return overridable | (referenced - internal - MAKE_BUILTINS)


def code_in(markdown: str) -> str:
    """A page's code: fenced blocks and inline spans (which may wrap a line)."""
    spans = [span for _, span in INLINE_CODE.findall(FENCE.sub("", markdown))]
    return " ".join(FENCE.findall(markdown) + spans)


def test_the_parser_finds_what_the_makefile_reads() -> None:
    text = "A ?= $(or $(ENV_A),1)\nB := x\n\nt:\n\tcd $(CURDIR) && $(MAKE) $(B) $(C) $(A)\n"
    assert makefile_inputs(text) == {"A", "ENV_A", "C"}


def test_the_page_code_is_found() -> None:
    markdown = "Run `make run\nPORT=1`, ``C`D`` or\n```bash\nmake x A=1\n```\nnot B."
    assert re.findall(r"\b[A-Z]+\b", code_in(markdown)) == ["A", "PORT", "C", "D"]


def test_every_makefile_variable_is_in_the_development_page() -> None:
    page = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    inputs = makefile_inputs((ROOT / "Makefile").read_text(encoding="utf-8"))
    assert {"PY", "HOST", "PORT", "INDEX_DIR", "BENCH_ARGS", "PLANSEARCH_HOST"} <= inputs
    # named as code: `PORT` in a table, or `make axe AXE_VERSION=…` in a sentence
    code = code_in(page)
    undocumented = {name for name in inputs if not re.search(rf"\b{name}\b", code)}
    assert undocumented == set()


def test_every_make_target_the_docs_name_exists() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    declared = re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE)
    assert declared is not None
    phony = set(declared.group(1).split())
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    code = " ".join(code_in(page.read_text(encoding="utf-8")) for page in pages)
    named = set(re.findall(r"\bmake ([a-z]+)\b", code))
    assert named and named <= phony, sorted(named - phony)
