"""A PDF's own JavaScript never runs from Plansearch's pages (issue 23, defect 7): in
Chromium, opening a PDF whose OpenAction is `app.alert` fired the alert, despite the
sandbox CSP. The file is now a download, and the pdf.js page view runs no scripts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from active_pdfs import make_open_action_js_pdf
from browser_support import CHROMIUM_ARGS, LiveServer
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from service import create_app
from service.indexing.build import build_index

pytestmark = pytest.mark.browser

DOCUMENT = "open-action-pdf"
WATCH_MS = 4000  # the old inline file raised its alert within a second of loading


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    """Chromium in its full headless mode: it has the built-in PDF viewer (which runs a
    PDF's scripts), where Playwright's default headless mode would only download."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=False,
                                             args=[*CHROMIUM_ARGS, "--headless=new"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def scripted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from conftest import FakeEmbedder

    root = tmp_path_factory.mktemp("pdf-scripting")
    (root / "corpus").mkdir()
    make_open_action_js_pdf(root / "corpus" / "open-action.pdf")
    build_index(root / "corpus", root / "index", FakeEmbedder())
    app = create_app({"INDEX_DIR": str(root / "index"), "CORPUS_DIR": str(root / "corpus"),
                      "EMBEDDER": FakeEmbedder()})
    with LiveServer(app) as live:
        yield live


def watch_dialogs(page: Page) -> list[str]:
    dialogs: list[str] = []

    def seen(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", seen)
    return dialogs


def test_opening_the_file_never_runs_its_script(page: Page,
                                                scripted_server: LiveServer) -> None:
    dialogs = watch_dialogs(page)
    downloads: list[Any] = []
    page.on("download", lambda download: downloads.append(download))
    try:
        page.goto(f"{scripted_server.url}/documents/{DOCUMENT}/file")
    except PlaywrightError as error:  # an attachment: the navigation becomes a download
        assert "Download is starting" in str(error), error
    page.wait_for_timeout(WATCH_MS)
    assert dialogs == []
    assert [d.suggested_filename for d in downloads] == ["open-action.pdf"]


def test_the_page_view_draws_the_pdf_without_running_its_script(
        page: Page, scripted_server: LiveServer) -> None:
    dialogs = watch_dialogs(page)
    page.goto(f"{scripted_server.url}/documents/{DOCUMENT}/pdf")
    expect(page.locator("#pdf-sheet[data-rendered='1']")).to_be_attached(timeout=30_000)
    page.wait_for_timeout(WATCH_MS)
    assert dialogs == []
