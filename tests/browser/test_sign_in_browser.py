"""Signing in with a read key in a real browser (issue #23, defect 1): with
PLANSEARCH_API_KEYS set, the page sends a stranger to the sign-in form; after signing
in with a key, the page's own searches answer (its fetches ride on the session cookie
and carry the CSRF token)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import ANSWER_TIMEOUT_MS, LiveServer, Recorder

from service.web.app import create_app

try:
    from playwright.sync_api import BrowserContext, Page, expect
except ModuleNotFoundError:  # conftest skips every `browser` test, or fails them in CI
    pass

pytestmark = pytest.mark.browser

KEY = "browser-read-key-0123456789"


@pytest.fixture(scope="module")
def server(bundled_index: Path, embedder: Any) -> Iterator[LiveServer]:
    app = create_app({"INDEX_DIR": str(bundled_index / "index"),
                      "CORPUS_DIR": str(bundled_index / "corpus"), "EMBEDDER": embedder,
                      "API_KEYS": KEY, "SECRET_KEY": "browser-test-secret",
                      "RATE_LIMIT_STORAGE": "memory://"})
    with LiveServer(app) as live:
        yield live


def test_the_page_signs_in_with_a_key_and_then_searches(
        page: Page, context: BrowserContext, recorder: Recorder, server: LiveServer) -> None:
    page.goto(server.url + "/")
    expect(page).to_have_url(server.url + "/sign-in?next=/")
    expect(page.get_by_role("heading", name="Sign in to Plansearch")).to_be_visible()

    page.get_by_label("Read key").fill("not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That key is not one this server accepts.")

    page.get_by_label("Read key").fill(KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(server.url + "/")
    cookie = next(c for c in context.cookies() if c["name"] == "plansearch_session")
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    assert KEY not in cookie["value"]

    box = page.get_by_label("Your question")
    box.fill("what are Gloucestershire's urgent care plans")
    box.press("Enter")
    card = page.locator("article.turn").first.locator(".card").first
    expect(card).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(card.locator(".card__title")).not_to_be_empty()

    # the passage link opens the reading view with the same cookie
    href = card.get_by_role("link").first.get_attribute("href")
    assert href and href.startswith("/documents/")
    page.goto(server.url + href)
    expect(page.locator("main.reader")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(server.url + "/sign-in")
    page.goto(server.url + "/")
    expect(page).to_have_url(server.url + "/sign-in?next=/")
    assert recorder.foreign(server.netloc) == []
    # Chromium logs the refused key's 401 page; nothing else may go wrong
    assert recorder.problems == [
        "Failed to load resource: the server responded with a status of 401 (UNAUTHORIZED)"]


@pytest.fixture
def axe_page(browser: Any) -> Iterator[Page]:
    """A page in a context that lets axe-core be injected (as test_accessibility's)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  reduced_motion="reduce", bypass_csp=True)
    yield context.new_page()
    context.close()


def test_the_sign_in_page_and_the_sign_out_button_pass_axe_and_reflow(
        axe_page: Page, server: LiveServer) -> None:
    from tests.browser.test_accessibility import (
        NARROW,
        axe_violations,
        header_collisions,
        horizontal_overflow,
    )

    def check(state: str) -> None:
        for width in (1280, NARROW):
            axe_page.set_viewport_size({"width": width, "height": 640})
            assert axe_violations(axe_page) == [], f"{state} at {width} px"
            assert horizontal_overflow(axe_page)["scrollWidth"] <= width, state
            assert header_collisions(axe_page) == [], state

    axe_page.goto(server.url + "/")
    check("sign-in")
    axe_page.get_by_label("Read key").fill("not-a-key")
    axe_page.get_by_role("button", name="Sign in").click()
    expect(axe_page.get_by_role("alert")).to_be_visible()
    check("sign-in with an error")
    axe_page.get_by_label("Read key").fill(KEY)
    axe_page.get_by_role("button", name="Sign in").click()
    expect(axe_page.get_by_role("button", name="Sign out")).to_be_visible()
    check("signed in")
