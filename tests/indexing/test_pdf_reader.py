"""The PDF reader on PDFs generated here with fpdf2, and on the real awkward PDFs in
../shared/pdfs: page numbers and labels, running headers and footers, tables,
hyphenation, columns, headings, and the one-line reasons for unreadable files."""

from __future__ import annotations

import re
from pathlib import Path

import pdfplumber
import pytest
from paths import SHARED_PDFS
from pdf_factory import (
    HYPHEN_JOINED,
    LEFT_COLUMN_SENTENCE,
    PAGE_LABELS,
    RIGHT_COLUMN,
    RUNNING_HEADER,
    TABLE_PAGE,
    TABLE_ROWS,
    make_encrypted_pdf,
    make_image_only_pdf,
    make_report_pdf,
    make_truncated_pdf,
    report_blocks,
)

from service.indexing.documents import Block, ReadError
from service.indexing.readers import read_document

PAGE_N_OF_M = re.compile(r"\bPage \d+ of \d+\b")


@pytest.fixture
def shared_pdfs() -> Path:
    """The real PDFs in ../shared/pdfs, which live outside this repository."""
    if not SHARED_PDFS.is_dir():
        pytest.skip(f"{SHARED_PDFS} is not present")
    return SHARED_PDFS


def normalised(text: str) -> str:
    return " ".join(text.split())


def test_report_reads_as_the_blocks_it_was_written_from(tmp_path: Path) -> None:
    path = make_report_pdf(tmp_path / "plan.pdf", two_column=True)
    document = read_document(path, "plan.pdf")
    assert [page.blocks for page in document.pages] == report_blocks(two_column=True)


def test_physical_page_numbers_and_printed_labels_from_the_footer(tmp_path: Path) -> None:
    document = read_document(make_report_pdf(tmp_path / "plan.pdf"), "plan.pdf")
    assert [page.number for page in document.pages] == [1, 2, 3, 4]
    # no /PageLabels: the printed numbers come from the dropped "Page N of M" footers
    assert [page.label for page in document.pages] == ["1", "2", "3", "4"]


def test_page_labels_come_from_the_pdf_when_set(tmp_path: Path) -> None:
    path = make_report_pdf(tmp_path / "plan.pdf", two_column=True, page_labels=True)
    document = read_document(path, "plan.pdf")
    assert [page.number for page in document.pages] == [1, 2, 3, 4, 5]
    assert [page.label for page in document.pages] == PAGE_LABELS


def test_running_header_and_page_footer_are_removed_from_every_page(tmp_path: Path) -> None:
    path = make_report_pdf(tmp_path / "plan.pdf", two_column=True, appendix_paragraphs=12)
    with pdfplumber.open(path) as pdf:  # the lines are really there to be removed
        raw = [page.extract_text() for page in pdf.pages]
    assert len(raw) == 7
    assert all(RUNNING_HEADER in text and PAGE_N_OF_M.search(text) for text in raw)

    document = read_document(path, "plan.pdf")
    assert len(document.pages) == 7
    for page in document.pages:
        assert RUNNING_HEADER not in page.text
        assert "Five Year Plan" not in page.text
        assert PAGE_N_OF_M.search(page.text) is None


def test_table_comes_out_as_rows_and_only_once(tmp_path: Path) -> None:
    document = read_document(make_report_pdf(tmp_path / "plan.pdf"), "plan.pdf")
    page = document.pages[TABLE_PAGE - 1]
    rows = [" | ".join(row) for row in TABLE_ROWS]
    start = [block.text for block in page.blocks].index(rows[0])
    assert page.blocks[start:start + len(rows)] == [Block(row) for row in rows]
    # every cell's text appears in exactly one block of the whole document: its row
    for cells in TABLE_ROWS:
        for cell in cells:
            holders = [block.text for p in document.pages for block in p.blocks
                       if cell in block.text]
            assert holders == [" | ".join(cells)], cell
    assert document.text.count("Okafor") == 1


def test_hyphenated_line_break_is_joined(tmp_path: Path) -> None:
    document = read_document(make_report_pdf(tmp_path / "plan.pdf"), "plan.pdf")
    assert HYPHEN_JOINED in document.pages[0].text
    assert "neighbour-" not in document.text
    assert "neighbour hood" not in document.text


def test_two_column_page_reads_each_column_in_turn(tmp_path: Path) -> None:
    document = read_document(make_report_pdf(tmp_path / "plan.pdf", two_column=True),
                             "plan.pdf")
    text = document.pages[4].text
    assert LEFT_COLUMN_SENTENCE in text  # runs down four lines of the left column
    assert RIGHT_COLUMN in text
    assert text.index(LEFT_COLUMN_SENTENCE) < text.index(RIGHT_COLUMN)


def test_headings_are_detected_with_levels(tmp_path: Path) -> None:
    document = read_document(make_report_pdf(tmp_path / "plan.pdf", two_column=True),
                             "plan.pdf")
    headings = [(block.text, block.heading_level) for page in document.pages
                for block in page.blocks if block.heading_level is not None]
    assert headings == [
        ("1 Introduction", 1), ("1.1 How the plan was written", 2),
        ("2 Our priorities", 1), ("2.1 Money", 2),
        ("3 Delivering the plan", 1), ("3.1 Measuring progress", 2),
        ("4 Local delivery", 1),
    ]


def test_title_comes_from_the_pdf_metadata(tmp_path: Path) -> None:
    document = read_document(make_report_pdf(tmp_path / "plan.pdf"), "plan.pdf")
    assert document.meta.title == "NHS Example ICS Five Year Plan 2024 to 2029"


def test_encrypted_pdf_is_refused_for_its_password(tmp_path: Path) -> None:
    path = make_encrypted_pdf(tmp_path / "secret.pdf")
    with pytest.raises(ReadError) as error:
        read_document(path, "secret.pdf")
    assert str(error.value) == "encrypted PDF: it needs a password to open"


def test_truncated_pdf_is_refused_as_corrupt(tmp_path: Path) -> None:
    good = make_report_pdf(tmp_path / "plan.pdf")
    path = make_truncated_pdf(tmp_path / "half.pdf", good)
    with pytest.raises(ReadError, match=r"^corrupt or truncated PDF \("):
        read_document(path, "half.pdf")


@pytest.fixture
def no_tesseract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without Tesseract: nothing on the PATH to run."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_image_only_pdf_without_tesseract_says_what_to_install(tmp_path: Path,
                                                                no_tesseract: None) -> None:
    path = make_image_only_pdf(tmp_path / "scan.pdf", pages=2)
    with pytest.raises(ReadError) as error:
        read_document(path, "scan.pdf")
    assert str(error.value) == ("image-only PDF: install tesseract-ocr to index it "
                                "(no text layer on any of its 2 page(s))")


# -- the real PDFs in ../shared/pdfs ---------------------------------------------------


@pytest.mark.parametrize(("name", "reason"), [
    ("scanned_linn.pdf",
     "image-only PDF: install tesseract-ocr to index it (no text layer on any of its 1 "
     "page(s))"),
    ("encrypted_password.pdf", "encrypted PDF: it needs a password to open"),
    ("encrypted_ownerpw.pdf",
     "image-only PDF: install tesseract-ocr to index it (no text layer on any of its 1 "
     "page(s)) (it is also encrypted with an owner password)"),
    # its only text sits outside the (inverted) page box, so it is a scan like the others
    ("malformed_scan.pdf",
     "image-only PDF: install tesseract-ocr to index it (no text layer on any of its 1 "
     "page(s))"),
])
def test_awkward_shared_pdfs_fail_with_specific_reasons(shared_pdfs: Path, name: str,
                                                        reason: str, no_tesseract: None) -> None:
    with pytest.raises(ReadError) as error:
        read_document(shared_pdfs / name, name)
    assert str(error.value) == reason


@pytest.mark.slow  # reads a 29-page real PDF with both the reader and pdfplumber
def test_ifr_policy_pages_match_pdfplumbers_page_index(shared_pdfs: Path) -> None:
    path = shared_pdfs / "nhse_ifr_policy.pdf"
    document = read_document(path, "nhse_ifr_policy.pdf")
    with pdfplumber.open(path) as pdf:
        assert [page.page_number for page in pdf.pages] == list(range(1, 30))
        plumber_text = [normalised(page.extract_text() or "") for page in pdf.pages]
    assert [page.number for page in document.pages] == list(range(1, 30))
    # the printed footer number is the page index minus one; the cover has none (the
    # last page's footer, garbled by a copyright line printed over it, still counts)
    assert [page.label for page in document.pages] == [None] + [
        str(n - 1) for n in range(2, 30)]
    # each page's longest block opens with words that pdfplumber finds on that page only
    for page in document.pages:
        probe = " ".join(max((b.text for b in page.blocks), key=len).split()[:8])
        found_on = [i for i, text in enumerate(plumber_text, start=1) if probe in text]
        assert found_on == [page.number], probe


@pytest.mark.slow  # reads a 32-page real PDF
def test_leeds_two_column_page_keeps_left_column_sentences_whole(shared_pdfs: Path) -> None:
    document = read_document(shared_pdfs / "leeds_ri_strategy.pdf", "leeds_ri_strategy.pdf")
    text = normalised(document.pages[4].text)
    assert text.startswith("Executive summary ")
    # this sentence wraps over eight lines of the left column; read line by line across
    # the page it would be interleaved with the right column's lines
    assert ("It encompasses the future healthcare needs of our people and communities, seeks "
            "out opportunities for impactful research to reduce health inequalities and "
            "contribute to inclusive growth, and commits to supporting our well-trained, "
            "representative workforce to deliver high-quality care in a rapidly changing "
            "world.") in text
    assert ("This strategy reflects our belief that research should be inclusive, "
            "collaborative and open to all; with those doing research reflective of the "
            "diversity of our population.") in text


@pytest.mark.slow  # reads a 40-page real PDF
def test_no_glyph_codes_in_the_suffolk_strategy(shared_pdfs: Path) -> None:
    document = read_document(shared_pdfs / "suffolk_strategy.pdf", "suffolk_strategy.pdf")
    assert "(cid:" not in document.text
    assert "• Levels of trust" in document.pages[6].text


@pytest.mark.slow  # reads a 29-page real PDF
def test_the_ifr_policy_back_cover_footer_is_no_passage(shared_pdfs: Path) -> None:
    document = read_document(shared_pdfs / "nhse_ifr_policy.pdf", "nhse_ifr_policy.pdf")
    back = document.pages[-1]
    assert not any("PR2086" in block.text for block in back.blocks)
    assert back.label == "28"
    # no title in the metadata: the one shown is the cover's, under two stamp lines
    assert document.meta.title is None
    assert document.cover_title() == "Commissioning policy: individual funding requests"
