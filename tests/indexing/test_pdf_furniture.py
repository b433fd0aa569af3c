"""What a PDF page carries besides its content, kept out of passages: glyph codes for
symbols the font cannot name, footers garbled by an overlapping line, and the cover's
title shown for a PDF whose metadata has none (issue 25)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nhse_pdfs import BACK_COVER, COVER_TITLE, make_policy_pdf

from service.indexing.build import build_index
from service.indexing.readers import read_document
from service.indexing.readers.pdf_layout import Word, group_lines
from service.store import generations
from service.store.reader import EmbeddedGeneration


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


def test_the_cover_title_is_shown_but_not_indexed(tmp_path: Path, fake_embedder: Any) -> None:
    """A PDF with no title in its metadata and stamp lines above its cover's title is
    shown under that title, not its file name; the passages keep the indexed title they
    had, since leading them with a cover title cost ranking (BENCHMARKS.md)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_policy_pdf(corpus / "nhse_ifr_policy.pdf")
    build_index(corpus, tmp_path / "index", fake_embedder)
    current = generations.current_generation(tmp_path / "index")
    assert current is not None
    generation = EmbeddedGeneration(current)
    try:
        [document] = generation.documents()
    finally:
        generation.close()
    assert (document.title, document.indexed_title) == (COVER_TITLE, "Nhse ifr policy")
    assert document.keyword_title == "Nhse ifr policy"
    assert fake_embedder.embedded
    assert all(text.startswith("Nhse ifr policy") for text in fake_embedder.embedded)
