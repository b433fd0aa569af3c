"""Where a chunk sits on its PDF pages: the page's text tokens aligned to the reader's word
boxes, so a chunk's character offsets become rectangles the PDF page view draws.

Pure Python: difflib's SequenceMatcher on lower-cased letter-and-digit tokens, once per
page. The page text and the words come from the same extraction, so they agree except
where the text was reworked (hyphens rejoined, table rows added); those tokens simply go
unmatched and get no box."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from difflib import SequenceMatcher

from service.indexing.documents import Document, Page, WordBox

TOKEN = re.compile(r"[^\W_]+")
# A box on a page: (physical page number, x0, top, x1, bottom), fractions of the page
Box = tuple[int, float, float, float, float]


@dataclass(frozen=True)
class AlignedPage:
    """A page's text tokens (their start and end offsets in `Page.text`) and, for each, the
    index of the word box it was matched to, or -1."""

    number: int
    starts: list[int]
    ends: list[int]
    token_words: list[int]
    words: list[WordBox]


def tokens(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group().lower()) for m in TOKEN.finditer(text)]


def align_page(page: Page) -> AlignedPage:
    """Match the page text's tokens to its words' tokens (a word like "£12.5m" has two)."""
    words = page.words or []
    text_tokens = tokens(page.text)
    word_tokens: list[str] = []
    owners: list[int] = []
    for index, word in enumerate(words):
        for _, _, token in tokens(word[0]):
            word_tokens.append(token)
            owners.append(index)
    matched = [-1] * len(text_tokens)
    matcher = SequenceMatcher(None, [t[2] for t in text_tokens], word_tokens, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        for step in range(size):
            matched[a + step] = owners[b + step]
    return AlignedPage(page.number, [t[0] for t in text_tokens], [t[1] for t in text_tokens],
                       matched, words)


def align_document(document: Document) -> dict[int, AlignedPage]:
    """The aligned pages of a document that has word boxes (PDFs); empty for the rest."""
    return {page.number: align_page(page) for page in document.pages if page.words}


def chunk_boxes(pages: dict[int, AlignedPage], page_start: int, char_start: int,
                page_end: int, char_end: int) -> list[Box]:
    """The rectangles covering a chunk's words, one per run of words on a line."""
    boxes: list[Box] = []
    for number in range(page_start, page_end + 1):
        page = pages.get(number)
        if page is None:
            continue
        first = bisect_left(page.starts, char_start) if number == page_start else 0
        last = bisect_right(page.ends, char_end) if number == page_end else len(page.ends)
        indices = sorted({page.token_words[i] for i in range(first, last)} - {-1})
        boxes.extend(line_boxes(number, [page.words[i] for i in indices]))
    return boxes


def line_boxes(number: int, words: list[WordBox]) -> list[Box]:
    """Merge consecutive words that share a line into one rectangle."""
    merged: list[list[float]] = []
    for _, x0, top, x1, bottom in words:
        if merged:
            last = merged[-1]
            overlap = min(bottom, last[3]) - max(top, last[1])
            same_line = overlap > 0.5 * min(bottom - top, last[3] - last[1]) and x0 >= last[0]
            if same_line:
                last[:] = [last[0], min(top, last[1]), max(x1, last[2]), max(bottom, last[3])]
                continue
        merged.append([x0, top, x1, bottom])
    return [(number, round(x0, 4), round(top, 4), round(x1, 4), round(bottom, 4))
            for x0, top, x1, bottom in merged]
