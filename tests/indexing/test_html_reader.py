"""The HTML reader on NHS-style pages (tests/data/html/, constructed, not saved): it keeps
the article with its headings, and drops cookie banners, menus, share buttons, sidebars
and footers; on pages too short for trafilatura it falls back to the tag-based reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import DATA

from service.indexing.chunking import chunk_document
from service.indexing.documents import Block, Document
from service.indexing.readers import read_document

FIXTURES = DATA / "html"
PAGES = sorted(path.stem for path in FIXTURES.glob("*.html"))

# Lines of page furniture on each fixture that must not reach the index.
FURNITURE = {
    "icb-winter-plan": [
        "Cookies on the NHS North Riverside ICB website", "I'm OK with analytics cookies",
        "Skip to main content", "Share this page", "Related pages",
        "Joint forward plan 2023 to 2028", "Accessibility statement",
        "© 2024 NHS North Riverside Integrated Care Board. All rights reserved.",
        "Page last reviewed"],
    "ics-joint-forward-plan": [
        "Cookies on our website", "On this page", "Related documents",
        "Is there anything wrong with this page?", "Terms and conditions",
        "© NHS Hillshire and Dale Integrated Care Board 2023", "Page last reviewed",
        "Next review due"],
    "trust-news-div-soup": [
        "Translate this page", "Parking at our hospitals", "In this section",
        "Home > News and media", "Pin It", "Print this page", "Related news",
        "Trust appoints new chief executive", "Switchboard: 01632 960 000",
        "Registered office: Westbrook General Hospital",
        "This website uses cookies to improve your experience."],
    "ccg-table-layout": ["Open consultations", "Quick links", "You are here:",
                         "Governing body | Publications"],
    "trust-inline-scripts": [
        "gtag(", "dataLayer", "googleTranslateElementInit", "font-size", "@context",
        "Services A to Z", "Accept all cookies", "© Southmead Valley NHS Trust 2024",
        "We use necessary cookies"],
    "trust-news-short": [
        "Cookie settings", "Share on Facebook", "Latest news", "Follow us",
        "Modern slavery statement", "Copyright © 2024"],
    "ccg-wordpress-news": [
        "Buying the best care", "Share this:", "Like this:", "Loading...", "Leave a Reply",
        "Recent Posts", "Archives", "Proudly powered by WordPress", "Bookmark the permalink",
        "We'll assume you're ok with this", "Spring booster vaccinations end on 30 June"],
}


def read_fixture(name: str) -> Document:
    return read_document(FIXTURES / f"{name}.html", f"{name}.html")


def expected_lines(name: str) -> list[str]:
    return (FIXTURES / f"{name}.expected.txt").read_text(encoding="utf-8").splitlines()


def test_every_fixture_names_its_furniture() -> None:
    assert sorted(FURNITURE) == PAGES


@pytest.mark.parametrize("name", PAGES)
def test_every_line_of_the_article_is_a_block_of_its_own(name: str) -> None:
    texts = [block.text for block in read_fixture(name).pages[0].blocks]
    assert [line for line in expected_lines(name) if line not in texts] == []


@pytest.mark.parametrize("name", PAGES)
def test_cookie_share_menu_sidebar_and_footer_lines_are_dropped(name: str) -> None:
    text = read_fixture(name).text
    assert [line for line in FURNITURE[name] if line in text] == []


@pytest.mark.parametrize("name", PAGES)
def test_the_article_comes_in_reading_order(name: str) -> None:
    texts = [block.text for block in read_fixture(name).pages[0].blocks]
    found = [line for line in expected_lines(name) if line in texts]
    # old table layouts are the exception: trafilatura moves a table nested in the
    # layout table to the end of the article
    if name != "ccg-table-layout":
        assert sorted(found, key=texts.index) == found


@pytest.mark.parametrize(("name", "reviewed"), [
    ("icb-winter-plan", "reviewed 14 October 2024"),
    ("ics-joint-forward-plan", "reviewed 3 July 2023"),
    ("trust-news-short", None),
])
def test_the_review_stamp_dates_the_page_instead_of_becoming_text(name: str,
                                                                   reviewed: str | None) -> None:
    assert read_fixture(name).meta.published == reviewed


def test_a_sentence_about_reviews_is_not_a_stamp(tmp_path: Path) -> None:
    page = tmp_path / "review.html"
    page.write_text("<html><body><main><h1>Winter review</h1><p>The board last reviewed "
                    "the winter plan on 3 July 2023 and agreed four changes to discharge."
                    "</p></main></body></html>", encoding="utf-8")
    document = read_document(page, "review.html")
    assert "last reviewed the winter plan" in document.text
    assert document.meta.published is None


def test_headings_keep_their_levels_and_name_the_sections() -> None:
    document = read_fixture("ics-joint-forward-plan")
    assert [(b.heading_level, b.text) for b in document.pages[0].blocks if b.heading_level] == [
        (1, "Joint forward plan 2023 to 2028"), (2, "Summary"), (2, "Our population"),
        (3, "Children and young people"), (2, "Our ambitions"),
        (3, "Working with neighbourhoods"), (2, "Money and resources")]
    chunks = chunk_document(document, lambda text: len(text.split()))
    areas = next(chunk for chunk in chunks if "1,310" in chunk.text)
    assert areas.section.endswith("Money and resources")
    assert "On this page" not in " ".join(chunk.text for chunk in chunks)


def test_a_title_trafilatura_drops_with_the_byline_is_put_back_as_the_first_heading() -> None:
    blocks = read_fixture("trust-news-div-soup").pages[0].blocks
    assert blocks[0] == Block("New diagnostic centre opens in Eastmoor", 1)
    assert "Posted on 3 June 2024" not in [block.text for block in blocks]


def test_table_rows_join_their_cells_and_the_page_title_is_the_title_tag() -> None:
    document = read_fixture("trust-inline-scripts")
    assert document.meta.title == ("Maternity services: our three-year plan | "
                                   "Southmead Valley NHS Trust")
    rows = [block.text for block in document.pages[0].blocks if " | " in block.text]
    assert rows == ["Measure | 2023 | Target for 2026", "Midwife vacancy rate | 11% | 5%",
                    "Women with a personalised care plan | 64% | 95%",
                    "Stillbirths per 1,000 births | 4.1 | 3.4"]


def test_a_page_too_short_for_trafilatura_is_read_by_its_tags(tmp_path: Path) -> None:
    path = tmp_path / "notice.html"
    path.write_text(
        "<html><head><title>Notice</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        "<div class='cookie'><p>Share this page</p></div>"
        "<h1>Clinic moves</h1><p>The Tuesday clinic moves to Room 4.</p>"
        "<footer>© Example NHS Trust</footer></body></html>", encoding="utf-8")
    document = read_document(path, "notice.html")
    assert document.pages[0].blocks == [Block("Clinic moves", 1),
                                        Block("The Tuesday clinic moves to Room 4.")]
    assert document.meta.title == "Notice"


def test_line_breaks_inside_a_paragraph_separate_words(tmp_path: Path) -> None:
    address = "<p>Riverside House<br>2 Quayside<br/>North Riverside</p>"
    body = "<p>" + "The board meets in public every month at its offices. " * 8 + "</p>"
    path = tmp_path / "contact.html"
    path.write_text(f"<html><body><article><h1>Contact</h1>{body}{address}</article>"
                    "</body></html>", encoding="utf-8")
    texts = [block.text for block in read_document(path, "contact.html").pages[0].blocks]
    assert "Riverside House 2 Quayside North Riverside" in texts


def test_a_short_article_among_menus_is_still_found_without_them(tmp_path: Path) -> None:
    page = (FIXTURES / "trust-news-div-soup.html").read_text(encoding="utf-8")
    start = page.index("<p>The centre, on the site")
    path = tmp_path / "short.html"
    path.write_text(page[:start] + "</div>" + page[page.index('<div class="share">'):],
                    encoding="utf-8")
    assert read_document(path, "short.html").pages[0].blocks == [
        Block("New diagnostic centre opens in Eastmoor", 1),
        Block("Patients in Eastmoor can now have scans and tests closer to home after the "
              "town's new community diagnostic centre opened its doors this week.")]
