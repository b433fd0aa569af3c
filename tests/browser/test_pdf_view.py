"""The PDF page view in a real browser: a PDF citation opens the original page drawn by
the vendored pdf.js, with the passage's words highlighted where they are printed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from browser_support import LiveServer, Recorder, serve
from pdf_factory import make_report_pdf
from playwright.sync_api import Page, expect

from service.indexing.build import build_index

pytestmark = pytest.mark.browser

QUESTION = "crisis cafes open in each of the four towns"
RENDER_TIMEOUT_MS = 30_000
# every highlight and the sheet, as fractions of the sheet (the drawn page)
HIGHLIGHTS = """() => {
    const sheet = document.getElementById("pdf-sheet").getBoundingClientRect();
    return [...document.querySelectorAll(".pdf-view__highlight")].map((mark) => {
        const box = mark.getBoundingClientRect();
        return [(box.left - sheet.left) / sheet.width, (box.top - sheet.top) / sheet.height,
                (box.right - sheet.left) / sheet.width, (box.bottom - sheet.top) / sheet.height];
    });
}"""
PAINTED = """() => {
    const canvas = document.getElementById("pdf-canvas");
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let dark = 0;
    for (let i = 0; i < pixels.length; i += 4) if (pixels[i] < 128) dark += 1;
    return dark;
}"""

Box = tuple[float, float, float, float]


@pytest.fixture(scope="module")
def pdf_root(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Path:
    """A one-document index of a four-page generated PDF."""
    root = tmp_path_factory.mktemp("pdf-view")
    (root / "corpus").mkdir()
    make_report_pdf(root / "corpus" / "example-plan.pdf")
    build_index(root / "corpus", root / "index", embedder)
    return root


@pytest.fixture(scope="module")
def pdf_server(pdf_root: Path, embedder: Any) -> Iterator[LiveServer]:
    with serve(pdf_root, embedder) as live:
        yield live


def printed_words(pdf: Path, number: int) -> list[tuple[str, Box]]:
    """pdfplumber's own words on a page, boxes as fractions of the page; independent of
    the app's code."""
    with pdfplumber.open(pdf) as document:
        page = document.pages[number - 1]
        return [(w["text"], (w["x0"] / page.width, w["top"] / page.height,
                             w["x1"] / page.width, w["bottom"] / page.height))
                for w in page.extract_words()]


def overlap(a: Box, b: Box) -> float:
    """The share of `a`'s area that `b` covers."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    area = (a[2] - a[0]) * (a[3] - a[1])
    return max(width, 0) * max(height, 0) / area if area else 0.0


def wait_for_render(page: Page, number: int) -> None:  # noqa: F811
    expect(page.locator(f"#pdf-sheet[data-rendered='{number}']")).to_be_attached(
        timeout=RENDER_TIMEOUT_MS)


def test_a_pdf_citation_opens_the_page_with_the_passage_highlighted(
        page: Page, recorder: Recorder, pdf_server: LiveServer,  # noqa: F811
        pdf_root: Path, screenshot_dir: Path) -> None:
    found = page.request.get(f"{pdf_server.url}/api/search", params={"q": QUESTION, "k": 1})
    hit = found.json()["results"][0]
    assert hit["url"].startswith(f"/documents/example-plan-pdf/pdf?page={hit['page']}&chunk=")
    page.goto(pdf_server.url + hit["url"])
    wait_for_render(page, hit["page"])
    expect(page.get_by_role("status")).to_have_text(
        f"Page {hit['page']} of 4, passage highlighted")
    assert page.evaluate(PAINTED) > 500  # pdf.js drew the page's text, not a blank canvas
    page.screenshot(path=str(screenshot_dir / "pdf-page-view.png"), full_page=True)

    highlights: list[Box] = [tuple(box) for box in page.evaluate(HIGHLIGHTS)]
    assert highlights
    words = printed_words(pdf_root / "corpus" / "example-plan.pdf", hit["page"])
    texts = [text for text, _ in words]
    # the passage's opening words, found in pdfplumber's word list, are under a highlight
    opening = hit["text"].split()[:8]
    start = next(i for i in range(len(texts)) if texts[i:i + len(opening)] == opening)
    for text, box in words[start:start + len(opening)]:
        assert max(overlap(box, mark) for mark in highlights) > 0.6, text
    # and every highlight lies on words of the passage, not elsewhere on the page
    passage = set(hit["text"].split())
    for mark in highlights:
        assert any(overlap(box, mark) > 0.6 for text, box in words if text in passage), mark

    # the passage is on the page as text too, and the page's own controls work
    expect(page.locator("#passage p.highlight").first).to_contain_text(" ".join(opening))
    expect(page.get_by_role("link", name="Open the original file")).to_have_attribute(
        "href", "/documents/example-plan-pdf/file")
    expect(page.get_by_role("link", name="Read the extracted text")).to_have_attribute(
        "href", f"/documents/example-plan-pdf?chunk={hit['chunk_ids'][0]}"
        + "".join(f"&chunk={i}" for i in hit["chunk_ids"][1:]) + f"#chunk-{hit['chunk_ids'][0]}")
    width = page.locator("#pdf-sheet").bounding_box()["width"]
    page.get_by_role("button", name="Zoom in").click()
    page.wait_for_function(f"document.getElementById('pdf-sheet').offsetWidth > {width + 10}")
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_role("status")).to_have_text(f"Page {hit['page'] + 1} of 4")
    assert f"page={hit['page'] + 1}" in page.url
    page.get_by_role("button", name="Previous page").click()
    expect(page.get_by_role("status")).to_have_text(
        f"Page {hit['page']} of 4, passage highlighted")
    assert recorder.foreign(pdf_server.netloc) == []
    assert recorder.problems == []
