"""The word boxes of a PDF page, kept beside its text so that the PDF page view can draw
a passage where it sits on the page."""

from __future__ import annotations

from collections.abc import Sequence

from service.indexing.documents import WordBox
from service.indexing.readers.pdf_layout import Line


def page_words(lines: Sequence[Line], width: float, height: float) -> list[WordBox]:
    """The words of a page's body lines, in reading order (the order of the page's text),
    with boxes as fractions of the page. Reuses the words the reader already extracted,
    so it costs no second pass over the page. Table cells are not among them."""
    if width <= 0 or height <= 0:
        return []
    return [(str(word["text"]),
             round(float(word["x0"]) / width, 4), round(float(word["top"]) / height, 4),
             round(float(word["x1"]) / width, 4), round(float(word["bottom"]) / height, 4))
            for line in lines for word in line.words]
