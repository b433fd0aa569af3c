"""Every relative link in README.md, docs/*.md, BENCHMARKS.md and RELIABILITY.md (issue 24)
points at a file that exists,
and a link to a heading (`page.md#anchor`, or `#anchor` on the same page) at a heading that
exists, named as GitHub names it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from paths import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "BENCHMARKS.md",
         ROOT / "RELIABILITY.md"]
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+).+?(?<!`)\1(?!`)", re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def prose(markdown: str) -> str:
    """The page without its code, where a `[x](y)` is not a link."""
    return INLINE_CODE.sub("", FENCE.sub("", markdown))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", markdown)):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(prose(page.read_text(encoding="utf-8")))
            if not re.match(r"[a-z][a-z0-9+.-]*:", target)]  # http:, https:, mailto:


def test_the_slugs_are_githubs() -> None:
    assert slug("Who may read: open, keys or sso") == "who-may-read-open-keys-or-sso"
    assert slug("Coverage: abstention on unanswerable questions (issue #10)") == \
        "coverage-abstention-on-unanswerable-questions-issue-10"
    assert slug("What `make clean` deletes") == "what-make-clean-deletes"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}


def test_links_in_code_are_not_links() -> None:
    markdown = "See [a](a.md), `[b](b.md)` and\n```\n[c](c.md)\n```\n![d](d.png)"
    assert LINK.findall(prose(markdown)) == ["a.md", "d.png"]


def test_the_readme_is_a_first_screen() -> None:
    """The README stays short; the rest lives in docs/ (issue 24)."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150


def test_every_page_is_checked() -> None:
    names = {page.relative_to(ROOT).as_posix() for page in PAGES}
    assert {"README.md", "docs/using.md", "docs/api.md", "docs/operations.md",
            "docs/development.md", "docs/coverage.md", "docs/accessibility.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path_part, _, anchor = unquote(target).partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and \
                anchor not in anchors(linked.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading with that anchor")
    assert broken == []
