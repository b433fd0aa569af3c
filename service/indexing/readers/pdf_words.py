"""The word boxes of a PDF page, kept beside its text so that the PDF page view can draw
a passage where it sits on the page."""

from __future__ import annotations

from service.indexing.documents import WordBox
from service.indexing.readers.pdf_layout import Word
from service.indexing.readers.pdf_margins import RawPage


def page_words(raw: RawPage, width: float, height: float) -> list[WordBox]:
    """The words of a page's body lines and tables, in the order of the page's text (each
    table's words where page_blocks puts its rows: before the first line below its top),
    with boxes as fractions of the page. Reuses the words the reader already extracted,
    so it costs no second pass over the page."""
    if width <= 0 or height <= 0:
        return []
    tables = sorted(zip((top for top, _ in raw.tables), raw.table_words, strict=False),
                    key=lambda table: table[0])
    ordered: list[Word] = []
    for line in raw.lines:
        while tables and tables[0][0] <= line.top:
            ordered.extend(tables.pop(0)[1])
        ordered.extend(line.words)
    for _, words in tables:
        ordered.extend(words)
    return [box(word, width, height) for word in ordered]


def box(word: Word, width: float, height: float) -> WordBox:
    return (str(word["text"]),
            round(float(word["x0"]) / width, 4), round(float(word["top"]) / height, 4),
            round(float(word["x1"]) / width, 4), round(float(word["bottom"]) / height, 4))
