"""Accessibility in a real browser (WCAG 2.1 AA): axe-core's rules on every page and
state, reflow at 320 CSS px, focus never hidden behind the sticky question bar, and a
short keyboard path to each new answer and back to the question box.

axe-core is vendored under tests/vendor (see its README) and injected by the test; the
app never serves it. Screenshots at 320 px go to test-artifacts/accessibility/, which
git ignores, for a person to look at."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_support import ANSWER_TIMEOUT_MS, LiveServer, Recorder, whole_page_screenshot
from paths import ROOT, VENDOR
from pdf_factory import make_report_pdf
from playwright.sync_api import Browser, BrowserContext, Page, expect

from service.indexing.build import build_index
from service.store.jobs import JobStore
from service.web.app import create_app

pytestmark = pytest.mark.browser

AXE_FILES = sorted(VENDOR.glob("axe-core-*.min.js"))
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
NARROW = 320  # CSS px: 1280 px at 400% zoom, the width WCAG 1.4.10 names
ARTIFACTS = ROOT / "test-artifacts" / "accessibility"
TOKEN = "accessibility-test-admin-token"
QUESTION = "What are Gloucestershire's urgent care plans?"
NOT_FOUND_QUESTION = "What are Cornwall's plans for maternity services?"


@pytest.fixture(scope="module")
def server(bundled_index: Path, embedder: Any,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app with the admin API on, over a copy of the bundled index (the admin page
    writes a jobs table beside it) plus a generated PDF, with one finished job to fill
    the jobs table."""
    root = tmp_path_factory.mktemp("accessibility")
    shutil.copytree(bundled_index, root, dirs_exist_ok=True)
    make_report_pdf(root / "corpus" / "example-plan.pdf")  # for the PDF page view
    build_index(root / "corpus", root / "index", embedder)
    jobs = JobStore(root / "index")
    job = jobs.create("upload", [{"name": "integrated-care-strategy-2024-to-2029-final.pdf"}])
    jobs.finish(job, "succeeded", [{"name": job["files"][0]["name"], "status": "indexed"}],
                [], None, None, {"phase": "done", "documents_total": 1, "documents_done": 1})
    app = create_app({"INDEX_DIR": str(root / "index"), "CORPUS_DIR": str(root / "corpus"),
                      "EMBEDDER": embedder, "ADMIN_TOKEN": TOKEN, "JOB_RUNNER_THREAD": False})
    with LiveServer(app) as live:
        yield live


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    # axe arrives as an inline script, which the app's Content-Security-Policy rightly
    # refuses, so these pages run without it; test_browser.py checks the app under it.
    # Reduced motion makes scrolling instant, so positions are final when measured.
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  reduced_motion="reduce", bypass_csp=True)
    yield context
    context.close()  # `recorder` and `page` (conftest.py) are built on this context


# ---- Pages and states -----------------------------------------------------------

def chat_empty(page: Page, live: LiveServer) -> None:
    page.goto(live.url + "/")
    expect(page.get_by_role("heading", name="What would you like to know?")).to_be_visible()


def chat_answered(page: Page, live: LiveServer) -> None:
    page.goto(live.url + "/")
    box = page.get_by_label("Your question")
    box.fill(QUESTION)
    box.press("Enter")
    expect(page.locator("article.turn .card").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)


def chat_not_found(page: Page, live: LiveServer) -> None:
    page.goto(live.url + "/")
    box = page.get_by_label("Your question")
    box.fill(NOT_FOUND_QUESTION)
    box.press("Enter")
    expect(page.locator("article.turn .coverage--not_found")).to_be_visible(
        timeout=ANSWER_TIMEOUT_MS)
    expect(page.get_by_role("heading", name="Closest passages")).to_be_visible()


def chat_facets_narrowed(page: Page, live: LiveServer) -> None:
    """A shared link with filters (issue 26): the facets open, ticked, and answered."""
    page.goto(live.url + "/?q=planned+care&type=news+item&area=Staffordshire+and+Stoke-on-Trent")
    expect(page.locator("article.turn .card").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(page.get_by_role("checkbox", name=re.compile("^news item"))).to_be_checked()


def chat_filter_excludes_everything(page: Page, live: LiveServer) -> None:
    page.goto(live.url + "/?q=urgent+care&year=2030")
    expect(page.locator("article.turn .coverage--not_found")).to_be_visible(
        timeout=ANSWER_TIMEOUT_MS)


def library_page(page: Page, live: LiveServer) -> None:
    page.goto(live.url + "/library")
    expect(page.locator("#coverage tbody tr")).to_have_count(42)


def library_filtered(page: Page, live: LiveServer) -> None:
    """A facet ticked: the page reloads narrowed, focus back on the box."""
    library_page(page, live)
    page.get_by_role("checkbox", name=re.compile("^plan")).check()
    expect(page.locator("#documents tbody tr")).to_have_count(1)
    expect(page.get_by_role("checkbox", name=re.compile("^plan"))).to_be_focused()


def reading_view(page: Page, live: LiveServer) -> None:
    found = page.request.get(f"{live.url}/api/search", params={"q": QUESTION, "k": 1}).json()
    page.goto(live.url + found["results"][0]["url"])
    expect(page.locator("p.highlight").first).to_be_visible()


def pdf_page_view(page: Page, live: LiveServer) -> None:
    found = page.request.get(f"{live.url}/api/search", params={
        "q": "crisis cafes in each town", "k": 1, "document": "example-plan-pdf"}).json()
    page.goto(live.url + found["results"][0]["url"])
    expect(page.locator("#pdf-sheet[data-rendered]")).to_be_attached(
        timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator(".pdf-view__highlight").first).to_be_visible()


def admin_before_token(page: Page, live: LiveServer) -> None:
    page.goto(live.url + "/admin")
    expect(page.get_by_role("heading", name="Admin token")).to_be_visible()


def admin_after_token(page: Page, live: LiveServer) -> None:
    admin_before_token(page, live)
    page.get_by_label("Token", exact=True).fill(TOKEN)
    page.get_by_role("button", name="Use token").click()
    expect(page.locator("#token-status")).to_have_text("Token accepted.")
    expect(page.locator("#documents tr").first).to_be_visible()
    expect(page.locator("#jobs tr")).to_have_count(1)


def compare_one_area_lacking(page: Page, live: LiveServer) -> None:
    page.goto(live.url + "/")
    box = page.get_by_label("Your question")
    box.fill("compare Gloucestershire and Dorset urgent care")
    box.press("Enter")
    expect(page.locator(".compare__column .coverage--not_found")).to_be_visible(
        timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator(".compare__column .card").first).to_be_visible()


def compare_control_open(page: Page, live: LiveServer) -> None:
    chat_empty(page, live)
    page.get_by_text("Compare areas").click()
    # exact: the area facet's box is labelled "Gloucestershire (1)"
    page.get_by_role("checkbox", name="Gloucestershire", exact=True).check()
    page.get_by_role("checkbox", name="Birmingham and Solihull", exact=True).check()


def feedback_reasons(page: Page, live: LiveServer) -> None:
    chat_answered(page, live)
    page.get_by_role("button", name="Not helpful").click()
    expect(page.get_by_text("What was wrong? (optional)")).to_be_focused()


def feedback_recorded(page: Page, live: LiveServer) -> None:
    feedback_reasons(page, live)
    page.get_by_label("It is out of date").check()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Thank you: your feedback was recorded.")).to_be_focused()


def admin_insights(page: Page, live: LiveServer) -> None:
    admin_after_token(page, live)
    expect(page.locator("#insights table").first).to_be_visible()


@dataclass(frozen=True)
class State:
    name: str
    reach: Callable[[Page, LiveServer], None]


def not_built(name: str, what: str) -> Any:
    return pytest.param(None, id=name, marks=pytest.mark.skip(reason=f"{what} is not built yet"))


# Every page and state a person can reach. Add new ones here so that the axe, reflow and
# screenshot checks cover them.
STATES = [
    pytest.param(State("chat-empty", chat_empty), id="chat-empty"),
    pytest.param(State("chat-answered", chat_answered), id="chat-answered"),
    pytest.param(State("chat-not-found", chat_not_found), id="chat-not-found"),
    pytest.param(State("chat-facets-narrowed", chat_facets_narrowed),
                 id="chat-facets-narrowed"),
    pytest.param(State("chat-filter-excludes-everything", chat_filter_excludes_everything),
                 id="chat-filter-excludes-everything"),
    pytest.param(State("library", library_page), id="library"),
    pytest.param(State("library-filtered", library_filtered), id="library-filtered"),
    pytest.param(State("reading-view", reading_view), id="reading-view"),
    pytest.param(State("pdf-page-view", pdf_page_view), id="pdf-page-view"),
    pytest.param(State("admin-before-token", admin_before_token), id="admin-before-token"),
    pytest.param(State("admin-after-token", admin_after_token), id="admin-after-token"),
    pytest.param(State("compare-one-area-lacking", compare_one_area_lacking),
                 id="compare-one-area-lacking"),
    pytest.param(State("compare-control-open", compare_control_open),
                 id="compare-control-open"),
    pytest.param(State("feedback-reasons", feedback_reasons), id="feedback-reasons"),
    pytest.param(State("feedback-recorded", feedback_recorded), id="feedback-recorded"),
    pytest.param(State("admin-insights", admin_insights), id="admin-insights"),
]


# ---- Measurements ---------------------------------------------------------------

def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.0/2.1 A and AA violations on the page as it is now, one line
    per rule with the elements it failed on."""
    assert len(AXE_FILES) == 1, f"expected one tests/vendor/axe-core-*.min.js: {AXE_FILES}"
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=AXE_FILES[0])
    violations = page.evaluate(
        """async (tags) => {
            const found = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            // axe files text the same colour as its background under "needs review"
            // (it may be meant to be hidden); nothing on these pages is hidden that way.
            const invisible = found.incomplete.filter((r) => r.id === "color-contrast")
              .map((r) => ({...r, id: "color-contrast 1:1", nodes: r.nodes.filter((n) =>
                n.any.some((check) => check.data && check.data.messageKey === "equalRatio"))}))
              .filter((r) => r.nodes.length);
            return [...found.violations, ...invisible].map((v) => `${v.id} (${v.impact}): ` +
              `${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
        }""", WCAG_TAGS)
    return list(violations)


def horizontal_overflow(page: Page) -> dict[str, Any]:
    """The document's scroll width, and the elements that stick out past the viewport."""
    return dict(page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const wide = [...document.querySelectorAll("body *")].filter((el) => {
            const box = el.getBoundingClientRect();
            return box.width > 0 && (box.right > width + 0.5 || box.left < -0.5);
        }).map((el) => `${el.tagName.toLowerCase()}.${el.className} right=${
            Math.round(el.getBoundingClientRect().right)}`);
        return {scrollWidth: document.documentElement.scrollWidth, width, wide: wide.slice(0, 8)};
    }"""))


def header_collisions(page: Page) -> list[str]:
    """Header text that runs under a header button or link, or off the screen. (The
    text's own box can shrink while its letters spill out, so measure the letters.)"""
    return list(page.evaluate("""() => {
        const header = document.querySelector(".site-header");
        const controls = [...header.querySelectorAll("a, button")]
          .filter((c) => c.getClientRects().length);
        const meet = (a, b) => a.left < b.right && b.left < a.right &&
                               a.top < b.bottom && b.top < a.bottom;
        const found = [];
        for (const text of header.querySelectorAll(".brand__name, .brand__tagline")) {
            const letters = document.createRange();
            letters.selectNodeContents(text);
            const box = letters.getBoundingClientRect();
            if (!box.width) continue;
            if (box.right > document.documentElement.clientWidth) {
                found.push(`${text.className} off screen`);
            }
            for (const control of controls) {
                if (!control.contains(text) && meet(box, control.getBoundingClientRect())) {
                    found.push(`${text.className} under "${control.textContent.trim()}"`);
                }
            }
        }
        return found;
    }"""))


@pytest.mark.parametrize("state", STATES)
def test_every_page_passes_axe_and_reflows_at_320px(page: Page, recorder: Recorder,
                                                     server: LiveServer, state: State) -> None:
    state.reach(page, server)
    assert axe_violations(page) == [], f"{state.name} at 1280 px"

    page.set_viewport_size({"width": NARROW, "height": 640})
    overflow = horizontal_overflow(page)
    assert overflow["scrollWidth"] <= NARROW, f"{state.name} scrolls sideways: {overflow}"
    assert header_collisions(page) == []
    assert axe_violations(page) == [], f"{state.name} at {NARROW} px"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    whole_page_screenshot(page, ARTIFACTS / f"{state.name}-{NARROW}.png", width=NARROW)
    assert recorder.foreign(server.netloc) == []
    assert recorder.problems == []


# ---- Focus and the sticky question bar -------------------------------------------

FOCUSED_STOP = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const bar = document.querySelector(".composer-wrap");
    const box = el.getBoundingClientRect();
    const cover = bar.getBoundingClientRect();
    const sticky = getComputedStyle(bar).position === "sticky";
    const label = (el.getAttribute("aria-label") || el.textContent || el.id || "").trim();
    return {
        name: `${el.tagName.toLowerCase()} "${label.slice(0, 40)}"`,
        covered: sticky && !bar.contains(el) && box.bottom > cover.top && box.top < cover.bottom,
        onScreen: box.bottom > 0 && box.top < window.innerHeight,
        top: Math.round(box.top), bottom: Math.round(box.bottom), barTop: Math.round(cover.top),
    };
}"""


@pytest.mark.parametrize("height", [640, 256])
def test_tabbing_never_hides_focus_behind_the_question_bar(page: Page, server: LiveServer,
                                                           height: int) -> None:
    page.set_viewport_size({"width": NARROW, "height": height})
    chat_answered(page, server)
    landed = page.evaluate(FOCUSED_STOP)  # focus moved to the new answer's heading
    assert landed["name"] == 'h3 "Answer"' and landed["onScreen"] and not landed["covered"]

    page.evaluate("window.scrollTo(0, 0)")
    page.locator(".skip-link").focus()  # the first stop
    stops: list[dict[str, Any]] = [page.evaluate(FOCUSED_STOP)]
    for _ in range(200):  # the answered page has about 30 stops
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUSED_STOP)
        if stop is None:  # past the last stop, focus leaves the document
            break
        stops.append(stop)
    assert [s for s in stops if s["covered"] or not s["onScreen"]] == []
    assert len(stops) > 15, stops  # the answer's citations, cards and the composer


# ---- The keyboard path to an answer --------------------------------------------

def test_focus_moves_to_a_new_answer_and_the_question_box_is_one_key_away(
        page: Page, recorder: Recorder, server: LiveServer) -> None:
    page.goto(server.url + "/")
    box = page.get_by_label("Your question")
    box.fill(QUESTION)
    box.press("Enter")
    first = page.locator("article.turn").first
    heading = first.get_by_role("heading", name="Answer")
    expect(heading).to_be_focused(timeout=ANSWER_TIMEOUT_MS)
    expect(heading).to_be_in_viewport()
    # the answer itself is announced, not only that one arrived
    point = first.locator(".answer__point > span").first.text_content() or ""
    expect(page.get_by_role("status")).to_contain_text(point.strip()[:60])

    page.keyboard.press("Tab")
    expect(first.locator(".answer .cite").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(box).to_be_focused()

    # a follow-up typed while the answer is on its way keeps its focus
    held: list[Any] = []
    page.route("**/api/v1/chat", lambda route: held.append(route))
    box.fill("and what about Staffordshire?")
    box.press("Enter")
    page.keyboard.type("and Coventry")
    for _ in range(100):  # the route handler runs while Playwright waits
        if held:
            break
        page.wait_for_timeout(50)
    held[0].continue_()
    second = page.locator("article.turn").nth(1)
    expect(second.locator(".card").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(box).to_be_focused()
    expect(box).to_have_value("and Coventry")
    assert recorder.problems == []


# ---- Feedback and compare by keyboard alone ------------------------------------

def test_feedback_by_keyboard_with_focus_following_each_step(page: Page, recorder: Recorder,
                                                           server: LiveServer) -> None:
    page.set_viewport_size({"width": NARROW, "height": 640})
    chat_answered(page, server)
    turn = page.locator("article.turn").first
    not_helpful = turn.get_by_role("button", name="Not helpful")
    for _ in range(60):  # from the answer's heading, through citations, cards, take-away
        if page.evaluate("document.activeElement.textContent.trim()") == "Not helpful":
            break
        page.keyboard.press("Tab")
    expect(not_helpful).to_be_focused()
    landed = page.evaluate(FOCUSED_STOP)
    assert landed["onScreen"] and not landed["covered"]
    page.keyboard.press("Enter")
    expect(turn.get_by_text("What was wrong? (optional)")).to_be_focused()
    page.keyboard.press("Tab")
    expect(turn.get_by_label("It quoted the wrong passage")).to_be_focused()
    page.keyboard.press("ArrowDown")  # radios move and select with the arrow keys
    expect(turn.get_by_label("The answer is not in the library")).to_be_checked()
    page.keyboard.press("Tab")
    expect(turn.get_by_role("button", name="Send")).to_be_focused()
    page.keyboard.press("Enter")
    thanks = turn.get_by_text("Thank you: your feedback was recorded.")
    expect(thanks).to_be_focused()
    expect(page.get_by_role("status")).not_to_have_text("The search did not work")
    assert recorder.problems == []


def test_a_compare_by_keyboard_focuses_the_comparison(page: Page, server: LiveServer) -> None:
    page.set_viewport_size({"width": NARROW, "height": 640})
    chat_empty(page, server)
    box = page.get_by_label("Your question")
    box.fill("compare Gloucestershire and Dorset urgent care")
    box.press("Enter")
    heading = page.get_by_role("heading", name="Compared: urgent care")
    expect(heading).to_be_focused(timeout=ANSWER_TIMEOUT_MS)
    landed = page.evaluate(FOCUSED_STOP)
    assert landed["onScreen"] and not landed["covered"]
    page.keyboard.press("Escape")
    expect(box).to_be_focused()
