"""The text, Markdown, Word and HTML readers, and the one-line reasons every reader
gives for a file it cannot read."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import BUNDLED_CORPUS
from pdf_factory import make_docx, make_html

from service.indexing.documents import Block, DocumentMeta, ReadError
from service.indexing.readers import read_document


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_front_matter_sets_the_metadata(tmp_path: Path) -> None:
    path = write(tmp_path / "plan.md", (
        "---\n"
        "title: Staffordshire Winter Plan\n"
        "area: Stoke-on-Trent\n"
        "source_url: https://example.org/winter-plan.pdf\n"
        "published: 2024-03-01\n"
        "ignored_key: anything\n"
        "---\n"
        "# Winter pressures\n"
        "\n"
        "Extra beds will open in December.\n"))
    document = read_document(path, "plan.md")
    assert document.meta == DocumentMeta(title="Staffordshire Winter Plan",
                                         area="Stoke-on-Trent",
                                         source_url="https://example.org/winter-plan.pdf",
                                         published="2024-03-01")
    assert document.warnings == []
    assert [page.blocks for page in document.pages] == [[
        Block("Winter pressures", 1), Block("Extra beds will open in December.")]]


def test_text_without_front_matter_has_empty_metadata(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.txt", "Plain notes about the plan.\n")
    document = read_document(path, "notes.txt")
    assert document.meta == DocumentMeta()
    assert document.path == "notes.txt"
    assert document.pages[0].blocks == [Block("Plain notes about the plan.")]


def test_bad_yaml_front_matter_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    path = write(tmp_path / "plan.md", "---\ntitle: [unclosed\n---\nBody text survives.\n")
    document = read_document(path, "plan.md")
    assert document.meta == DocumentMeta()
    assert document.warnings == [
        "front matter ignored: invalid YAML (while parsing a flow sequence)"]
    assert document.pages[0].blocks == [Block("Body text survives.")]


def test_front_matter_that_is_not_a_mapping_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "plan.md", "---\n- just\n- a list\n---\nBody.\n")
    document = read_document(path, "plan.md")
    assert document.warnings == ["front matter ignored: not a mapping"]
    assert document.pages[0].blocks == [Block("Body.")]


def test_form_feed_starts_a_new_page(tmp_path: Path) -> None:
    path = write(tmp_path / "plan.txt",
                 "First page paragraph.\n\nStill the first page.\n\fSecond page paragraph.\n"
                 "\fThird page.\n")
    document = read_document(path, "plan.txt")
    assert [(page.number, page.blocks) for page in document.pages] == [
        (1, [Block("First page paragraph."), Block("Still the first page.")]),
        (2, [Block("Second page paragraph.")]),
        (3, [Block("Third page.")]),
    ]
    assert document.pages[1].label is None


def test_windows_1252_text_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes("Budget of £12m for the café – approved.\r\n".encode("cp1252"))
    document = read_document(path, "legacy.txt")
    assert document.pages[0].blocks == [Block("Budget of £12m for the café – approved.")]


def test_docx_keeps_heading_levels_and_table_rows(tmp_path: Path) -> None:
    document = read_document(make_docx(tmp_path / "plan.docx"), "plan.docx")
    assert document.meta.title == "Example Place Partnership Plan"
    assert [page.blocks for page in document.pages] == [[
        Block("Example Place Partnership Plan", 1),  # the Title style
        Block("1 Our ambitions", 1),
        Block("We will close the gap in healthy life expectancy between the richest and "
              "poorest wards by 2030."),
        Block("1.1 Children and young people", 2),
        Block("Every secondary school will have a mental health support team."),
        Block("Service | Sites | Opening"),
        Block("Family hubs | 6 | 2025"),
        Block("School nursing | 14 | 2024"),
        Block("The hubs will be run jointly with the county council."),
    ]]


def test_html_keeps_headings_and_drops_scripts_navigation_and_footer(tmp_path: Path) -> None:
    document = read_document(make_html(tmp_path / "winter.html"), "winter.html")
    assert document.meta.title == "Example ICB | Winter plan"
    assert [page.blocks for page in document.pages] == [[
        Block("Winter plan 2024/25", 1),
        Block("Extra beds will open in December at both acute hospitals."),
        Block("Urgent community response", 2),
        Block("The two-hour urgent community response service will run from 8am to 8pm."),
        Block("Virtual wards for frailty"),
        Block("Falls pick-up service"),
        Block("Site | Beds"),
        Block("North Hospital | 24"),
    ]]
    for marker in ("SCRIPT-MARKER", "STYLE-MARKER", "NAV-MARKER", "HEADER-MARKER",
                   "FOOTER-MARKER"):
        assert marker not in document.text


# The shape of the bundled corpus/*.txt files, saved from web pages.
WEB_TEXT = """Home > Case Study > Working with the STP in planned care

Planned Care programme

on .

Pin It

Share | Tweet | Email

From Halima Rashid, Programme Director

The programme aims to place more people within the right service first time.

Hide Ad

Telephone: 0300 311 22 33

Mark Seaton, Planned Care Workstream Programme Lead
"""


def test_web_leftovers_are_dropped_and_signatures_are_not_headings(tmp_path: Path) -> None:
    document = read_document(write(tmp_path / "case-study.txt", WEB_TEXT), "case-study.txt")
    assert document.pages[0].blocks == [
        Block("Planned Care programme", 2),
        Block("From Halima Rashid, Programme Director"),
        Block("The programme aims to place more people within the right service first time."),
        Block("Telephone: 0300 311 22 33"),
        Block("Mark Seaton, Planned Care Workstream Programme Lead"),
    ]
    assert document.first_heading() == "Planned Care programme"


def test_html_share_buttons_and_breadcrumbs_are_dropped(tmp_path: Path) -> None:
    page = ("<html><body><div><p>Home &gt; News &gt; Winter</p><h1>Winter plan</h1>"
            "<p>Extra beds will open in December.</p><p>Share this page</p>"
            "<p>Hide Ad</p><p>Pin It</p></div></body></html>")
    path = tmp_path / "winter.html"
    path.write_text(page, encoding="utf-8")
    document = read_document(path, "winter.html")
    assert document.pages[0].blocks == [Block("Winter plan", 1),
                                        Block("Extra beds will open in December.")]


def test_bundled_corpus_has_no_web_leftovers() -> None:
    corpus = BUNDLED_CORPUS
    for path in sorted(corpus.glob("*.txt")):
        document = read_document(path, path.name)
        texts = [block.text for page in document.pages for block in page.blocks]
        assert not {"on .", "Pin It", "Hide Ad"} & set(texts), path.name
        assert not any(text.startswith("Home >") for text in texts), path.name
        assert not any(b.heading_level and "Seaton" in b.text
                       for page in document.pages for b in page.blocks), path.name


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("empty.txt", b"", "empty file (0 bytes)"),
    ("empty.pdf", b"", "empty file (0 bytes)"),
    ("blank.md", b"  \n\n \t\n", "no text found in the file"),
    # bytes that are neither UTF-8 nor defined in Windows-1252
    ("mojibake.txt", b"\x81\x8d\x8f\x90\x9d" * 100,
     "undecodable text: not UTF-8 or Windows-1252 (character maps to <undefined>)"),
    ("binary.txt", b"PK\x03\x04\x00\x00binary" * 50,
     "binary content in a text file (NUL bytes); is it really text?"),
    ("notes.xyz", b"some text",
     "unsupported file type '.xyz'; supported: .docx, .htm, .html, .markdown, .md, .pdf, "
     ".txt"),
    ("README", b"some text",
     "unsupported file type '(none)'; supported: .docx, .htm, .html, .markdown, .md, .pdf, "
     ".txt"),
    ("broken.docx", b"this is not a zip archive",
     "not a readable Word .docx file (not a zip package; an old .doc renamed?)"),
])
def test_unreadable_files_raise_read_error_with_a_specific_reason(
        tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReadError) as error:
        read_document(path, name)
    assert str(error.value) == reason


def test_undecodable_bytes_really_are_not_windows_1252() -> None:
    with pytest.raises(UnicodeDecodeError):
        (b"\x81\x8d\x8f\x90\x9d" * 100).decode("cp1252")
