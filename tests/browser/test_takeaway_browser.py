"""Compare, take it away, and feedback into Insights (issue 26), in Debian's Chromium
against the real app on loopback over a copy of the bundled index (the question log is
written beside it): a compare with one area lacking documents, "Copy answer", the
sources CSV and a print to PDF through Chromium, and feedback on an answer that then
shows in the admin page's Insights. Screenshots go to test-artifacts/."""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from browser_support import ANSWER_TIMEOUT_MS, LiveServer, Recorder, whole_page_screenshot

from service.store.question_log import DATABASE
from service.web.app import create_app

try:
    from playwright.sync_api import BrowserContext, Page, expect
except ModuleNotFoundError:  # conftest skips every `browser` test, or fails them in CI
    pass

pytestmark = pytest.mark.browser

TOKEN = "takeaway-test-admin-token"
QUESTION = "What are Gloucestershire's urgent care plans?"
NOT_FOUND = "What are Cornwall's plans for maternity services?"


@pytest.fixture(scope="module")
def server(bundled_index: Path, embedder: Any,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("takeaway")
    # without the question log other modules' apps wrote beside the shared index
    shutil.copytree(bundled_index, root, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(f"{DATABASE}*"))
    app = create_app({"INDEX_DIR": str(root / "index"), "CORPUS_DIR": str(root / "corpus"),
                      "EMBEDDER": embedder, "ADMIN_TOKEN": TOKEN, "JOB_RUNNER_THREAD": False})
    with LiveServer(app) as live:
        yield live


def ask(page: Page, question: str) -> Any:
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")
    return page.locator("article.turn").last


def test_compare_with_one_area_lacking_documents(page: Page, recorder: Recorder,
                                                 server: LiveServer,
                                                 screenshot_dir: Path) -> None:
    page.goto(server.url + "/")
    turn = ask(page, "compare Gloucestershire and Dorset urgent care")
    heading = turn.get_by_role("heading", name="Compared: urgent care")
    expect(heading).to_be_focused(timeout=ANSWER_TIMEOUT_MS)
    columns = turn.locator(".compare__column")
    expect(columns).to_have_count(2)
    gloucestershire, dorset = columns.nth(0), columns.nth(1)
    expect(gloucestershire.get_by_role("heading", name="Gloucestershire")).to_be_visible()
    expect(gloucestershire.locator(".answer__point").first).to_contain_text("urgent care")
    expect(gloucestershire.locator(".card__area").first).to_have_text("Gloucestershire")
    expect(dorset.get_by_role("heading", name="Dorset")).to_be_visible()
    expect(dorset.locator(".coverage--not_found")).to_contain_text(
        "No documents about Dorset are indexed")
    expect(dorset.locator(".card")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("Dorset: No documents about Dorset")
    # a column with sources can be copied and downloaded on its own
    csv_link = gloucestershire.get_by_role("link", name="Download sources (CSV)")
    expect(csv_link).to_have_attribute("href", "/api/v1/search.csv?q=urgent+care&k=5&area="
                                               "Gloucestershire")
    expect(dorset.locator(".takeaway")).to_have_count(0)
    # the columns sit side by side on a wide screen
    left, right = (columns.nth(i).bounding_box() for i in range(2))
    assert left and right and left["x"] + left["width"] <= right["x"]
    whole_page_screenshot(page, screenshot_dir / "compare-1280.png", width=1280)

    # the compare control: ticked areas, an ordinary question
    page.get_by_text("Compare areas").click()
    page.get_by_role("checkbox", name="Staffordshire and Stoke-on-Trent").check()
    page.get_by_role("checkbox", name="Birmingham and Solihull").check()
    second = ask(page, "planned care waiting times")
    expect(second.locator(".compare__name")).to_have_text(
        ["Birmingham and Solihull", "Staffordshire and Stoke-on-Trent"],
        timeout=ANSWER_TIMEOUT_MS)
    expect(second.locator(".compare__column").nth(1).locator(".answer__point").first
           ).to_be_visible()

    # "compare" without two areas is an ordinary question after all
    page.get_by_role("checkbox", name="Staffordshire and Stoke-on-Trent").uncheck()
    page.get_by_role("checkbox", name="Birmingham and Solihull").uncheck()
    third = ask(page, "compare planned care waiting times with last year")
    expect(third.get_by_role("heading", name="Answer")).to_be_focused(timeout=ANSWER_TIMEOUT_MS)
    expect(third.locator(".compare__column")).to_have_count(0)
    expect(third.locator(".card").first).to_be_visible()
    # the one problem: the compare the page tried first, which the API refused (400)
    assert recorder.problems == [
        "Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"]


def test_copy_answer_download_sources_and_print(page: Page, context: BrowserContext,
                                                recorder: Recorder, server: LiveServer,
                                                screenshot_dir: Path, tmp_path: Path) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.goto(server.url + "/")
    turn = ask(page, QUESTION)
    expect(turn.locator(".card").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    first_point = (turn.locator(".answer__point > span").first.text_content() or "").strip()

    turn.get_by_role("button", name="Copy answer").click()
    expect(turn.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("""async () => {
        const [item] = await navigator.clipboard.read();
        const read = async (type) => await (await item.getType(type)).text();
        return {types: item.types, text: await read("text/plain"),
                html: await read("text/html")};
    }""")
    assert set(copied["types"]) >= {"text/plain", "text/html"}
    assert copied["text"].startswith(f"**Question:** {QUESTION}\n\n")
    assert first_point[:60] in copied["text"]
    assert re.search(rf"\n\[1\] Community Partner E-bulletin .*<{re.escape(server.url)}"
                     r"/documents/gloucestershire-stp-community-partner-bulletin-1-txt\?",
                     copied["text"])
    assert f'<a href="{server.url}/documents/' in copied["html"]

    with page.expect_download() as started:
        turn.get_by_role("link", name="Download sources (CSV)").click()
    saved = tmp_path / "sources.csv"
    started.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    cards = turn.locator(".card")
    assert len(rows) == cards.count() == 5
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0]["document"] == (cards.first.locator(".card__title").text_content() or ""
                                   ).removeprefix("Source 1: ")

    page.emulate_media(media="print")
    expect(page.locator(".composer-wrap")).to_be_hidden()
    expect(turn.locator(".takeaway")).to_be_hidden()
    expect(turn.locator(".feedback")).to_be_hidden()
    whole_page_screenshot(page, screenshot_dir / "print-preview-1280.png", width=1280)
    pdf = tmp_path / "answer.pdf"
    page.pdf(path=str(pdf), format="A4")
    with pdfplumber.open(pdf) as document:
        text = "\n".join(p.extract_text() or "" for p in document.pages)
    flat = " ".join(text.split())
    assert " ".join(first_point.split())[:40] in flat
    assert f"{server.url}/documents/gloucestershire-stp-community" in flat.replace(" ", "")
    for control in ("Copy answer", "Download sources", "Was this answer helpful", "Ask"):
        assert control not in flat
    shutil.copy(pdf, screenshot_dir / "print-answer.pdf")
    assert recorder.problems == []


def test_feedback_then_the_question_shows_in_insights(page: Page, recorder: Recorder,
                                                      server: LiveServer,
                                                      screenshot_dir: Path) -> None:
    page.goto(server.url + "/")
    turn = ask(page, NOT_FOUND)
    expect(turn.locator(".coverage--not_found")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    turn.get_by_role("button", name="Not helpful").click()
    expect(turn.get_by_text("What was wrong? (optional)")).to_be_focused()
    turn.get_by_label("The answer is not in the library").check()
    turn.get_by_role("button", name="Send").click()
    thanks = turn.get_by_text("Thank you: your feedback was recorded.")
    expect(thanks).to_be_focused()
    whole_page_screenshot(page, screenshot_dir / "feedback-1280.png", width=1280)

    page.goto(server.url + "/admin")
    page.get_by_label("Token", exact=True).fill(TOKEN)
    page.get_by_role("button", name="Use token").click()
    expect(page.locator("#insights-status")).to_contain_text("1 not helpful")
    gaps = page.locator(".insights > div").filter(has_text="Not found: the library's gaps")
    expect(gaps.locator("td").first).to_have_text(re.compile(r"Cornwall.s plans for maternity"))
    reasons = page.locator(".insights > div").filter(has_text="Not helpful, by reason")
    expect(reasons.locator("tbody tr")).to_have_text([re.compile(r"Not in the library\s*1")])
    # a not_found answer quotes no passage, so no document is blamed
    by_document = page.locator(".insights > div").filter(has_text="Not helpful, by document")
    expect(by_document).to_contain_text("None in this period.")
    whole_page_screenshot(page, screenshot_dir / "insights-1280.png", width=1280)
    with page.expect_download() as started:
        page.get_by_role("button", name="Download CSV").click()
    exported = Path(started.value.path()).read_text(encoding="utf-8-sig")
    assert "not_helpful_reason,not_in_library,1," in exported
    assert recorder.problems == []
