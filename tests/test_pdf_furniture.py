"""What a PDF page carries besides its content, kept out of passages: glyph codes for
symbols the font cannot name, and footers garbled by an overlapping line (issue 25)."""

from __future__ import annotations

from pathlib import Path

from nhse_pdfs import BACK_COVER, make_policy_pdf

from service.indexing.readers import read_document
from service.indexing.readers.pdf_layout import Word, group_lines


def word(text: str, x0: float, top: float = 100.0, width: float | None = None) -> Word:
    """A word as pdfplumber's extract_words gives it."""
    width = 6.0 * len(text) if width is None else width
    return {"text": text, "x0": x0, "x1": x0 + width, "top": top,
            "bottom": top + 12.0, "size": 12.0, "fontname": "AHCEIM+Frutiger-Roman"}


def test_a_glyph_code_alone_is_a_bullet_and_inside_a_word_is_dropped() -> None:
    # pdfminer's text for a symbol-font bullet (Suffolk strategy, page 7) and for a
    # ligature a font does not map
    lines = group_lines([word("(cid:129)", 42.0, width=6.0), word("Levels", 57.0),
                         word("of", 100.0), word("trust", 120.0),
                         word("bene(cid:415)ts", 42.0, top=130.0),
                         word("(cid:3)(cid:4)", 200.0, top=130.0, width=12.0)])
    assert [line.text for line in lines] == ["• Levels of trust", "benets •"]


def test_a_footer_garbled_by_a_copyright_line_printed_over_it_is_dropped(
        tmp_path: Path) -> None:
    document = read_document(make_policy_pdf(tmp_path / "policy.pdf"), "policy.pdf")
    back = document.pages[-1]
    # in the numbered footer's place and with the page's number: a footer, whatever the
    # overprinting made of its words
    assert [block.text for block in back.blocks] == [BACK_COVER]
    assert [page.label for page in document.pages] == [None, "1", "2", "3", "4", "5"]

