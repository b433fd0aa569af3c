"""The library in a real browser (issue 26): facets narrowing a search, a shared link
reopened and the back button, and the /library page with its area coverage table.
Screenshots go to test-artifacts/library/ for a person to look at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_support import ANSWER_TIMEOUT_MS, LiveServer, Recorder, serve, whole_page_screenshot
from paths import ROOT

try:
    from playwright.sync_api import Page, expect
except ModuleNotFoundError:  # conftest skips every `browser` test, or fails them in CI
    pass

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts" / "library"
STAFFORDSHIRE = "Staffordshire and Stoke-on-Trent"
QUESTION = "How is waiting time for planned care being reduced?"


@pytest.fixture(scope="module")
def server(bundled_index: Path, embedder: Any) -> Iterator[LiveServer]:
    with serve(bundled_index, embedder) as live:
        yield live


def answered(page: Page, number: int) -> Any:
    turn = page.locator("article.turn").nth(number - 1)
    expect(turn.locator(".answer")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    return turn


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_facets_narrow_the_search_and_the_link_reproduces_it(
        page: Page, recorder: Recorder, server: LiveServer) -> None:
    page.goto(server.url + "/")
    page.get_by_text("Filters", exact=True).click()
    types = page.get_by_role("group", name="Type")
    expect(types.get_by_role("checkbox")).to_have_count(4)  # plan, bulletin, case study, news
    types.get_by_role("checkbox", name=re.compile(r"^news item")).check()
    page.get_by_role("group", name="Area").get_by_role(
        "checkbox", name=re.compile(STAFFORDSHIRE)).check()
    expect(page.locator("#facets-chosen")).to_have_text(" (2 chosen)")
    box = page.get_by_label("Your question")
    box.fill(QUESTION)
    box.press("Enter")
    first = answered(page, 1)
    cards = first.locator(".card")
    expect(cards.first).to_be_visible()
    # the one Staffordshire news item answers, and the facets count what the filter allows
    assert set(first.locator(".card__area").all_inner_texts()) == {STAFFORDSHIRE}
    expect(first.locator(".meta")).to_contain_text("Type: news item")
    area_counts = page.get_by_role("group", name="Area").locator("label").all_inner_texts()
    assert area_counts == ["Birmingham and Solihull (1)", f"{STAFFORDSHIRE} (1)"]
    # /api/v1 counts kinds under `kind`; the page shows them in its Type group (issue 28)
    type_counts = page.get_by_role("group", name="Type").locator("label").all_inner_texts()
    assert "news item (1)" in type_counts
    assert query_of(page) == {"q": [QUESTION], "type": ["news item"], "area": [STAFFORDSHIRE]}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    whole_page_screenshot(page, ARTIFACTS / "facets-narrowed-1280.png", width=1280)
    shared = page.url

    # a second search with nothing ticked, then Back returns to the narrowed one
    page.get_by_role("button", name="Clear filters").click()
    box.fill("mental health services")
    box.press("Enter")
    answered(page, 2)
    assert query_of(page) == {"q": ["mental health services"]}
    page.go_back()
    expect(page).to_have_url(shared)
    again = answered(page, 1)
    expect(page.locator("article.turn")).to_have_count(1)
    assert set(again.locator(".card__area").all_inner_texts()) == {STAFFORDSHIRE}
    expect(page.get_by_role("checkbox", name=re.compile(r"^news item"))).to_be_checked()

    # the link, opened afresh, asks the same question with the same filters
    fresh = page.context.new_page()
    fresh.goto(shared)
    reopened = answered(fresh, 1)
    expect(reopened.locator(".question-bubble")).to_contain_text(QUESTION)
    assert set(reopened.locator(".card__area").all_inner_texts()) == {STAFFORDSHIRE}
    expect(fresh.get_by_role("checkbox", name=re.compile(STAFFORDSHIRE))).to_be_checked()
    assert recorder.foreign(server.netloc) == []
    assert recorder.problems == []


def test_a_filter_that_excludes_everything_says_so(page: Page, recorder: Recorder,
                                                  server: LiveServer) -> None:
    page.goto(server.url + "/?q=urgent+care&year=2030")
    turn = answered(page, 1)
    expect(turn.locator(".coverage--not_found")).to_contain_text(
        "No indexed document matches the filter published in 2030")
    assert recorder.problems == []


def test_the_library_page_and_its_coverage_table(page: Page, recorder: Recorder,
                                                  server: LiveServer) -> None:
    page.goto(server.url + "/library")
    coverage = page.locator("#coverage tbody tr")
    expect(coverage).to_have_count(42)  # every ICS, indexed or not
    expect(page.locator(".library__coverage > p")).to_contain_text(
        "4 of 42 areas have documents.")
    # the lead links to the table: what staff check before trusting an answer
    page.get_by_role("link", name="4 of 42 areas").click()
    expect(page.get_by_role("heading", name="Area coverage")).to_be_focused()
    gloucestershire = coverage.filter(has=page.get_by_role("rowheader", name="Gloucestershire",
                                                           exact=True))
    expect(gloucestershire.locator("td").first).to_have_text("1")
    cornwall = coverage.filter(has=page.get_by_role("rowheader",
                                                    name="Cornwall and the Isles of Scilly"))
    expect(cornwall.locator("td").first).to_have_text("None indexed")
    expect(page.locator("#documents tbody tr")).to_have_count(5)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    whole_page_screenshot(page, ARTIFACTS / "library-1280.png", width=1280)

    # a facet applies at once and keeps focus on its box; sorting is a link
    page.get_by_role("group", name="Type").get_by_role("checkbox",
                                                       name=re.compile("^plan")).check()
    expect(page.locator("#documents tbody tr")).to_have_count(1)
    expect(page.locator("#documents-count")).to_have_text("Showing 1–1 of 1 document.")
    expect(page.get_by_role("checkbox", name=re.compile("^plan"))).to_be_focused()
    page.get_by_role("link", name="Clear all filters").click()
    page.get_by_role("link", name=re.compile("^Published")).click()
    expect(page.locator("#documents tbody tr").first).to_contain_text("Coventry")
    page.locator("#documents tbody tr").first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Strategic Five Year")
    page.get_by_label("Search in this document").fill("mental health")
    page.get_by_role("button", name="Search", exact=True).click()
    turn = answered(page, 1)
    title = page.locator("#filter-document option:checked").inner_text().strip()
    assert title.startswith("Our Strategic Five Year")
    assert {t.split("\n")[-1] for t in turn.locator(".card__title").all_inner_texts()} == {title}
    expect(turn.locator(".meta")).to_contain_text(f"Document filter: {title}")
    assert recorder.foreign(server.netloc) == []
    assert recorder.problems == []
