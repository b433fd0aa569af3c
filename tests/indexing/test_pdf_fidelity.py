"""Reader fidelity (issue #11): superscripts joined to their word, headings from
typography rather than line length, running footers that vary removed, and sentences
kept whole across column and page breaks. Each case is reproduced on a generated PDF,
then checked on the real PDF in ../shared/pdfs where it was found."""

from __future__ import annotations

from pathlib import Path

import pdfplumber
import pytest
from paths import SHARED_PDFS
from pdf_factory import (
    ACROSS_COLUMNS,
    ACROSS_PAGES,
    BOLD_HEADING,
    COMPLAINTS_LEAD,
    CONTACT_LINES,
    FOOTER_OFFICE,
    FOOTER_STAMP,
    FULL_STOP_PARAGRAPH,
    NEXT_PARAGRAPH,
    NUMBERED_BOLD_HEADING,
    SIGNATURE_LINE,
    SUPERSCRIPT_SENTENCE,
    make_column_break_pdf,
    make_minutes_pdf,
)

from service.embedding.models import SentenceTransformerEmbedder
from service.indexing.chunking import Chunk, chunk_document
from service.indexing.documents import Block, Document
from service.indexing.readers import read_document


@pytest.fixture(scope="module")
def count_tokens() -> object:
    """The real model's token counter; only its tokenizer loads."""
    return SentenceTransformerEmbedder().count_tokens


@pytest.fixture(scope="module")
def minutes(tmp_path_factory: pytest.TempPathFactory) -> Document:
    path = make_minutes_pdf(tmp_path_factory.mktemp("minutes") / "minutes.pdf")
    return read_document(path, "minutes.pdf")


@pytest.fixture
def shared_pdfs() -> Path:
    if not SHARED_PDFS.is_dir():
        pytest.skip(f"{SHARED_PDFS} is not present")
    return SHARED_PDFS


def blocks(document: Document) -> list[Block]:
    return [block for page in document.pages for block in page.blocks]


def chunk_holding(chunks: list[Chunk], text: str) -> Chunk:
    holders = [chunk for chunk in chunks if text in " ".join(chunk.text.split())]
    assert holders, f"no chunk holds {text!r}"
    return holders[0]


def test_raised_ordinals_are_joined_to_their_number(minutes: Document) -> None:
    assert SUPERSCRIPT_SENTENCE in minutes.pages[0].text
    assert "1 st" not in minutes.text and "19 th" not in minutes.text


def test_a_short_line_after_a_colon_is_not_a_heading(minutes: Document,
                                                     count_tokens: object) -> None:
    headings = [(b.text, b.heading_level) for b in blocks(minutes) if b.heading_level]
    # the bold title and the bold body-size heading, and nothing else: not the contact
    # lines, not the signature, not the short last paragraph
    assert headings == [("Minutes of the open Board meeting", 1), (BOLD_HEADING, 2),
                        (NUMBERED_BOLD_HEADING, 2)]
    chunks = chunk_document(minutes, count_tokens)  # type: ignore[arg-type]
    chunk = chunk_holding(chunks, CONTACT_LINES[0])
    assert COMPLAINTS_LEAD in chunk.text
    assert all(line in chunk.text for line in CONTACT_LINES)


def test_a_wrapped_line_ending_in_a_full_stop_does_not_end_its_paragraph(
        minutes: Document) -> None:
    texts = [block.text for block in blocks(minutes)]
    assert FULL_STOP_PARAGRAPH in texts  # one block: the line spacing never changed
    assert NEXT_PARAGRAPH in texts  # the spaced paragraph after it is its own
    assert SIGNATURE_LINE in texts


def test_a_footer_that_varies_by_page_is_removed(minutes: Document, tmp_path: Path) -> None:
    path = make_minutes_pdf(tmp_path / "minutes.pdf")
    with pdfplumber.open(path) as pdf:  # the footer is really there, above the last tenth
        first = pdf.pages[0]
        stamp = [w for w in first.extract_words() if w["text"] == "Registered"]
        assert stamp and stamp[0]["top"] < first.height * 0.9
    for page in minutes.pages:
        assert "Registered Office" not in page.text
        assert FOOTER_STAMP.format(page=page.number) not in page.text
        assert "31542R" not in page.text and "draft Open Board" not in page.text
    assert FOOTER_OFFICE.split(":")[0] not in minutes.text
    # its page number is still read as the printed label
    assert [page.label for page in minutes.pages] == ["1", "2", "3", "4", "5"]


def test_a_sentence_cut_by_a_page_break_is_joined_on_the_page_it_starts(
        minutes: Document) -> None:
    assert ACROSS_PAGES in minutes.pages[3].text
    assert not any(ACROSS_PAGES[-40:] in page.text for page in minutes.pages[4:])


def test_a_sentence_from_one_column_to_the_next_is_one_block(tmp_path: Path) -> None:
    document = read_document(make_column_break_pdf(tmp_path / "columns.pdf"), "columns.pdf")
    texts = [block.text for block in document.pages[0].blocks]
    assert any(ACROSS_COLUMNS in text for text in texts)
    assert len(texts) == 1


# -- the real PDFs where these were found ------------------------------------------------


def test_board_minutes_superscripts_and_footer(shared_pdfs: Path,
                                               count_tokens: object) -> None:
    document = read_document(shared_pdfs / "suffolk_board_minutes.pdf", "minutes.pdf")
    page = " ".join(document.pages[2].text.split())
    assert ("The Library will close on 1st September 2016 and re-open on 19th September "
            "2016.") in page
    assert "Registered Office" not in document.text
    assert "draft Open Board Minutes" not in document.text
    chunks = chunk_document(document, count_tokens)  # type: ignore[arg-type]
    item_7 = chunk_holding(chunks, "Modelling and plans for future funding")
    assert "Registered" not in item_7.text and "31542R" not in item_7.text


def test_ifr_sop_telephone_line_stays_with_its_paragraph(shared_pdfs: Path,
                                                         count_tokens: object) -> None:
    document = read_document(shared_pdfs / "nhse_ifr_sop.pdf", "sop.pdf")
    assert not any(b.heading_level and b.text.startswith(("Telephone", "Email"))
                   for b in blocks(document))
    chunks = chunk_document(document, count_tokens)  # type: ignore[arg-type]
    chunk = chunk_holding(chunks, "Telephone: 0300 311 22 33")
    assert "Complaints at any point in the IFR process should be submitted to:" in chunk.text
    assert "Email: england.contactus@nhs.net" in chunk.text


@pytest.mark.slow  # reads a 32-page real PDF
def test_leeds_sentence_across_columns_is_one_block(shared_pdfs: Path) -> None:
    document = read_document(shared_pdfs / "leeds_ri_strategy.pdf", "leeds.pdf")
    texts = [" ".join(block.text.split()) for block in document.pages[4].blocks]
    assert any("this strategy details how our organisations, in partnership with our "
               "communities, will address them in the coming decade." in t for t in texts)
