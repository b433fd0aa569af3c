#!/usr/bin/env python
"""Compare the HTML reader with trafilatura's main-content extraction on the HTML fixtures.

Each fixture `NAME.html` in tests/data/html/ has a sidecar `NAME.expected.txt` holding the
article's text: title, headings, paragraphs, list items and table cells. The pages are
constructed to look like NHS trust, ICB and CCG pages (navigation, breadcrumbs, cookie
banners, share buttons, sidebars, footers); they are not saved pages, because the machine
that wrote them had no web access. Scores are word-level recall and precision against the
expected text, as bags of lower-cased words with counts. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from service.indexing.documents import BLOCK_SEPARATOR
from service.indexing.readers import read_document
from service.indexing.readers.html import blocks_from_tags
from service.indexing.readers.text import decode_text

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "html"
WORD = re.compile(r"[a-z0-9£%]+(?:[.,'’][a-z0-9]+)*")
REPEATS = 5  # the pages are small: time several runs so one scheduler hiccup does not decide

Extractor = Callable[[Path], str]


def reader_text(path: Path) -> str:
    """The text the indexing path sees: the reader's blocks, boilerplate already dropped."""
    return read_document(path, path.name).text


def soup_reader_text(path: Path) -> str:
    """The BeautifulSoup reader on its own, as it was before trafilatura (now its fallback)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(path.read_bytes()), "html.parser")
    return BLOCK_SEPARATOR.join(block.text for block in blocks_from_tags(soup))


def trafilatura_extractor(**options: bool) -> Extractor:
    """trafilatura's plain-text output, without the reader's structure or fallbacks."""
    def extract(path: Path) -> str:
        import trafilatura

        html = decode_text(path.read_bytes())
        return trafilatura.extract(html, output_format="txt", include_comments=False,
                                   include_formatting=False, **options) or ""
    return extract


EXTRACTORS: dict[str, Extractor] = {
    "BeautifulSoup reader": soup_reader_text,
    "trafilatura default": trafilatura_extractor(),
    "trafilatura favor_recall": trafilatura_extractor(favor_recall=True),
    "trafilatura favor_precision": trafilatura_extractor(favor_precision=True),
    "trafilatura fast": trafilatura_extractor(fast=True),
    "reader (trafilatura)": reader_text,
}


def words(text: str) -> Counter[str]:
    return Counter(WORD.findall(text.lower().replace("’", "'")))


@dataclass
class Score:
    matched: int = 0
    extracted: int = 0
    expected: int = 0
    seconds: float = 0.0

    def add(self, other: Score) -> None:
        self.matched += other.matched
        self.extracted += other.extracted
        self.expected += other.expected
        self.seconds += other.seconds

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 0.0

    @property
    def precision(self) -> float:
        return self.matched / self.extracted if self.extracted else 0.0

    @property
    def f1(self) -> float:
        total = self.recall + self.precision
        return 2 * self.recall * self.precision / total if total else 0.0


def score(extract: Extractor, page: Path) -> Score:
    expected = words(page.with_suffix(".expected.txt").read_text(encoding="utf-8"))
    extract(page)  # warm-up: imports and lazily built tables are not per-page costs
    start = time.perf_counter()
    for _ in range(REPEATS):
        got = words(extract(page))
    seconds = (time.perf_counter() - start) / REPEATS
    return Score(sum((got & expected).values()), sum(got.values()), sum(expected.values()),
                 seconds)


def row(page: str, name: str, result: Score, pages: int = 1) -> str:
    return (f"| {page} | {name} | {result.recall:.3f} | {result.precision:.3f} | "
            f"{result.f1:.3f} | {1000 * result.seconds / pages:.1f} |")


def report(pages: list[Path], names: list[str]) -> list[str]:
    lines = ["| page | extractor | recall | precision | F1 | ms/page |",
             "|---|---|---:|---:|---:|---:|"]
    totals = {name: Score() for name in names}
    for page in pages:
        for name in names:
            result = score(EXTRACTORS[name], page)
            totals[name].add(result)
            lines.append(row(page.stem, name, result))
    for name in names:
        lines.append(row(f"**all {len(pages)} pages**", name, totals[name], len(pages)))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixtures", type=Path, default=FIXTURES,
                        help="folder of NAME.html pages with NAME.expected.txt beside them")
    parser.add_argument("--only", default=",".join(EXTRACTORS),
                        help=f"comma-separated extractors (default: all of {list(EXTRACTORS)})")
    args = parser.parse_args()
    names = [name.strip() for name in args.only.split(",")]
    unknown = [name for name in names if name not in EXTRACTORS]
    if unknown:
        parser.error(f"unknown extractor(s) {unknown}; choose from {list(EXTRACTORS)}")
    pages = sorted(args.fixtures.glob("*.html"))
    if not pages:
        parser.error(f"no .html fixtures in {args.fixtures}")
    print("\n".join(report(pages, names)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
