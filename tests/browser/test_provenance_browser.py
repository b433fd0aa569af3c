"""Issue 27 in the browser: a document fetched by `make sync` knows where it was published
(its source_url); its result card links there, the copied citation carries the address,
and that card state passes axe at 1280 and 320 px."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import ANSWER_TIMEOUT_MS, LiveServer, Recorder, serve

from service.indexing.build import build_index
from service.indexing.sandbox import corpus_reader
from service.indexing.sources import place
from tests.browser.test_accessibility import NARROW, axe_violations, horizontal_overflow

try:
    from playwright.sync_api import Browser, BrowserContext, Page, expect
except ModuleNotFoundError:  # conftest skips every `browser` test, or fails them in CI
    pass

pytestmark = pytest.mark.browser

SOURCE = "https://www.example-icb.nhs.uk/publications/zebra-crossings-plan.pdf"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """As test_accessibility.py's: axe arrives as an inline script, which the app's CSP
    refuses; test_browser.py checks the page under it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  reduced_motion="reduce", bypass_csp=True)
    yield context
    context.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[LiveServer]:
    """One document, put in the corpus the way `make sync` puts it: a provenance sidecar,
    then the file."""
    root = tmp_path_factory.mktemp("provenance")
    corpus = root / "corpus"
    corpus.mkdir()
    download = root / "download.txt"
    download.write_text("# Zebra crossings\n\nWessex plans forty new zebra crossings near "
                        "schools by 2030, starting with the ten busiest school roads.\n")
    place(corpus, "fetched/zebra-crossings.txt", download,
          {"title": "Zebra crossings plan", "publisher": "NHS Example ICB",
           "source_url": SOURCE, "fetched_at": "2026-12-07T12:00:00+00:00"})
    build_index(corpus, root / "index", embedder, read=corpus_reader(corpus))
    with serve(root, embedder) as live:
        yield live


def test_a_fetched_document_links_to_where_it_was_published(
        page: Page, context: BrowserContext, recorder: Recorder, server: LiveServer) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.goto(server.url + "/")
    box = page.get_by_label("Your question")
    box.fill("how many zebra crossings near schools")
    box.press("Enter")
    card = page.locator("article.turn .card").first
    expect(card).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    published = card.get_by_role("link", name="Where it was published (Zebra crossings plan, "
                                               "opens in a new tab)")
    expect(published).to_have_attribute("href", SOURCE)
    expect(published).to_have_attribute("rel", "noopener noreferrer")
    card.get_by_role("button", name="Copy citation").click()
    expect(card.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Zebra crossings plan (NHS Example ICB), p.1")
    assert copied.endswith(f" {SOURCE}")

    assert axe_violations(page) == [], "a fetched document's card at 1280 px"
    page.set_viewport_size({"width": NARROW, "height": 640})
    overflow = horizontal_overflow(page)
    assert overflow["scrollWidth"] <= NARROW, overflow
    assert axe_violations(page) == [], f"a fetched document's card at {NARROW} px"
    assert recorder.foreign(server.netloc) == []  # the link is never fetched by the page
    assert recorder.problems == []

