"""The chat page in a real browser: Debian's Chromium driven by Playwright, against the
real app served on loopback over a real index."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from browser_support import (
    ANSWER_TIMEOUT_MS,
    LiveServer,
    Recorder,
    serve,
    whole_page_screenshot,
)

from service.indexing.build import build_index

try:
    from playwright.sync_api import BrowserContext, Page, expect
except ModuleNotFoundError:  # conftest skips every `browser` test, or fails them in CI
    pass

pytestmark = pytest.mark.browser

XSS_PAYLOAD = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


@pytest.fixture(scope="module")
def server(bundled_index: Path, embedder: Any) -> Iterator[LiveServer]:
    with serve(bundled_index, embedder) as live:
        yield live


def ask(page: Page, question: str) -> None:
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")


def turn(page: Page, number: int) -> Any:
    return page.locator("article.turn").nth(number - 1)


def test_two_turn_conversation(page: Page, context: BrowserContext, recorder: Recorder,
                               server: LiveServer, screenshot_dir: Path,
                               tmp_path: Path) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.goto(server.url + "/")
    expect(page.get_by_role("button", name="What are Gloucestershire's urgent care plans?")
           ).to_be_visible()
    expect(page.get_by_text("Filters", exact=True)).to_be_visible()
    expect(page.get_by_label("Document")).to_be_visible()

    ask(page, "what are Gloucestershire's urgent care plans")
    first = turn(page, 1)
    expect(first.locator(".question-bubble")).to_contain_text(
        "what are Gloucestershire's urgent care plans")
    card = first.locator(".card").filter(
        has=page.locator(".card__area", has_text="Gloucestershire")).first
    expect(card).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(card.locator(".card__title")).to_contain_text("Community Partner E-bulletin")
    expect(card.locator(".card__page")).to_have_text(re.compile(r"^Pages? \d+"))
    expect(card.get_by_role("meter")).to_have_attribute("aria-label",
                                                        re.compile(r"^relevance \d{1,3}%$"))
    link = card.get_by_role("link", name=re.compile(r"^Open at page \d+"))
    expect(link).to_have_attribute("href", re.compile(r"^/documents/"))
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener")
    expect(first.locator(".meta__item--area")).to_have_text("Focused on Gloucestershire")
    expect(page.get_by_role("button", name="Ask")).to_be_enabled()

    # a citation marker in the answer points at its card
    marker = first.locator(".answer .cite").first
    expect(marker).to_be_visible()
    marker.click()
    expect(first.locator(f".card{marker.get_attribute('href')}")).to_be_focused()

    # the copy button copies the ready-made citation
    top = first.locator(".card").first
    top.get_by_role("button", name="Copy citation").click()
    expect(top.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert re.fullmatch(r".+, p\.\d+.*", copied), copied

    ask(page, "and what about Staffordshire?")
    second = turn(page, 2)
    expect(second.locator(".card").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(second.locator(".card__area", has_text="Staffordshire").first).to_be_visible()
    expect(second.locator(".meta__item--query")).to_contain_text("Staffordshire")
    expect(page.locator("article.turn")).to_have_count(2)

    whole_page_screenshot(page, screenshot_dir / "screenshot-conversation.png", width=1280)

    # phone width: nothing may force sideways scrolling
    page.set_viewport_size({"width": 375, "height": 812})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    whole_page_screenshot(page, tmp_path / "conversation-375.png", width=375)

    # a long passage opens in full on request
    page.set_viewport_size({"width": 1280, "height": 900})
    toggle = page.locator(".passage-toggle").first
    passage = page.locator(f"#{toggle.get_attribute('aria-controls')}")
    shown = len(passage.inner_text())
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    assert len(passage.inner_text()) > shown

    page.get_by_role("button", name="New conversation").click()
    expect(page.locator("article.turn")).to_have_count(0)
    expect(page.get_by_label("Your question")).to_be_focused()

    assert recorder.foreign(server.netloc) == []
    assert recorder.problems == []


def test_a_not_found_answer_shows_the_verdict_first(
        page: Page, recorder: Recorder, server: LiveServer, screenshot_dir: Path) -> None:
    page.goto(server.url + "/")
    ask(page, "what is the capital of France")
    first = turn(page, 1)
    notice = first.locator(".coverage--not_found")
    expect(notice).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(notice).to_contain_text("don't cover this question")
    # the notice comes before the answer and the passages, which sit under another heading
    assert first.locator(".turn__body > *").first.get_attribute("class") == \
        "coverage coverage--not_found"
    expect(first.get_by_role("heading", name="Closest passages")).to_be_visible()
    expect(first.locator(".answer .cite")).to_have_count(0)
    # the bar shows the calibrated score: a poor match is a short bar, not 100%
    meter = first.locator(".card").first.get_by_role("meter")
    weak = int(meter.get_attribute("aria-valuenow") or "100")
    assert weak < 5

    ask(page, "what are Gloucestershire's urgent care plans")
    second = turn(page, 2)
    expect(second.locator(".card").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(second.locator(".coverage")).to_have_count(0)
    strong = int(second.locator(".card").first.get_by_role("meter")
                 .get_attribute("aria-valuenow") or "0")
    assert strong > weak + 5

    ask(page, "what are Cornwall's plans for maternity services")
    third = turn(page, 3)
    expect(third.locator(".coverage--not_found")).to_contain_text(
        "No documents about Cornwall and the Isles of Scilly are indexed")
    expect(third.locator(".card__elsewhere").first).to_contain_text(
        "not Cornwall and the Isles of Scilly")
    third.scroll_into_view_if_needed()
    whole_page_screenshot(page, screenshot_dir / "screenshot-not-found.png", width=1280)
    assert recorder.problems == []


def test_loading_state_while_a_request_runs(page: Page, recorder: Recorder,
                                            server: LiveServer) -> None:
    held: list[Any] = []
    # hold the real request at the browser so the in-between state can be seen
    page.route("**/api/v1/chat", lambda route: held.append(route))
    page.goto(server.url + "/")
    ask(page, "How is Staffordshire reducing waiting times for planned care?")
    button = page.get_by_role("button", name="Searching…")
    expect(button).to_be_disabled()
    expect(turn(page, 1).locator(".loading")).to_have_text("Searching the plans…")
    expect(page.get_by_role("status")).to_have_text("Searching the plans…")
    for _ in range(100):  # the route handler runs while Playwright waits
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    held[0].continue_()
    expect(turn(page, 1).locator(".card").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Ask")).to_be_enabled()
    expect(turn(page, 1).locator(".loading")).to_have_count(0)
    assert recorder.foreign(server.netloc) == []
    assert recorder.problems == []


def test_filters_and_keyboard(page: Page, recorder: Recorder, server: LiveServer) -> None:
    page.goto(server.url + "/")
    box = page.get_by_label("Your question")
    box.fill("urgent care")
    box.press("Shift+Enter")
    box.press_sequentially("plans")
    expect(box).to_have_value("urgent care\nplans")
    expect(page.locator("article.turn")).to_have_count(0)

    area = "Staffordshire and Stoke-on-Trent"
    page.get_by_text("Filters", exact=True).click()
    page.get_by_role("group", name="Area").get_by_role("checkbox", name=re.compile(area)).check()
    documents = page.get_by_label("Document")
    # the document list narrows to the chosen area once /api/documents has answered
    expect(documents.locator("option:not([hidden])")).to_have_count(3)  # "All" and two plans
    box.press("Enter")
    first = turn(page, 1)
    expect(first.locator(".card").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(first.locator(".meta")).to_contain_text(f"Area filter: {area}")
    areas = first.locator(".card__area").all_inner_texts()
    assert areas and set(areas) == {area}
    expect(box).to_have_value("")
    assert recorder.foreign(server.netloc) == []
    assert recorder.problems == []


def test_reading_view_highlights_the_passage(page: Page, context: BrowserContext,
                                             recorder: Recorder, server: LiveServer) -> None:
    page.goto(server.url + "/")
    page.get_by_role("button", name="What are Gloucestershire's urgent care plans?").click()
    card = turn(page, 1).locator(".card").first
    expect(card).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    link = card.get_by_role("link", name=re.compile(r"^Open at page"))
    anchor = urlsplit(link.get_attribute("href") or "").fragment
    assert re.fullmatch(r"chunk-\d+", anchor), anchor  # a text document: the reading view
    with context.expect_page() as opened:
        link.click()
    reader = opened.value
    reader.wait_for_load_state()
    assert urlsplit(reader.url).path.startswith("/documents/")
    highlighted = reader.locator(f"p.highlight#{anchor}")
    expect(highlighted).to_be_visible()
    expect(highlighted).to_be_in_viewport()
    title = re.sub(r"^Source \d+: ", "", card.locator(".card__title").text_content() or "")
    expect(reader.locator("h1")).to_have_text(title)
    expect(reader.locator("section.reader__page h2").first).to_have_text(re.compile(r"^Page \d+"))
    expect(reader.get_by_role("link", name="Open the original file")).to_be_visible()
    assert recorder.foreign(server.netloc) == []
    assert recorder.problems == []


def test_document_text_is_never_markup(page: Page, recorder: Recorder, embedder: Any,
                                       tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "hostile-plan.txt").write_text(
        f"Hostile plan\n\nThe winter plan says {XSS_PAYLOAD} about urgent care beds.\n",
        encoding="utf-8")
    build_index(corpus, tmp_path / "index", embedder)
    with serve(tmp_path, embedder) as live:
        page.goto(live.url + "/")
        ask(page, "winter plan urgent care beds script")
        card = turn(page, 1).locator(".card").first
        expect(card).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
        expect(card.locator(".card__passage")).to_contain_text(XSS_PAYLOAD)
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert card.locator("script, img").count() == 0

        page.goto(live.url + card.locator("a", has_text="Open at page").get_attribute("href"))
        expect(page.locator("p.highlight", has_text="The winter plan says")
               ).to_contain_text(XSS_PAYLOAD)
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.locator("main script, main img").count() == 0
        assert recorder.foreign(live.netloc) == []
    assert recorder.problems == []


def test_errors_show_inline(page: Page, recorder: Recorder, embedder: Any,
                            tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    with serve(tmp_path, embedder) as live:  # no index built: the API answers 503
        page.goto(live.url + "/")
        expect(page.get_by_text("No plans are indexed yet")).to_be_visible()
        ask(page, "what are Gloucestershire's urgent care plans")
        error = turn(page, 1).get_by_role("alert")
        expect(error).to_contain_text("no index has been built yet")
        expect(page.get_by_role("button", name="Ask")).to_be_enabled()
        expect(error.get_by_role("button", name="Try again")).to_be_visible()
        assert recorder.foreign(live.netloc) == []
    # the page's own console error for the failed 503 fetch is expected here
    assert all("503" in problem for problem in recorder.problems), recorder.problems
