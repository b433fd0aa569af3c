"""Aligning a page's text to its word boxes, and a chunk's offsets to rectangles."""

from __future__ import annotations

from pathlib import Path

from pdf_factory import make_report_pdf

from service.indexing.boxes import align_document, align_page, chunk_boxes, line_boxes
from service.indexing.documents import Block, Document, Page
from service.indexing.readers.pdf import read_pdf

# Two lines of three words, then one of two; boxes are fractions of the page.
WORDS = [
    ("Urgent", 0.1, 0.1, 0.2, 0.12), ("care", 0.21, 0.1, 0.3, 0.12),
    ("£12.5m", 0.31, 0.1, 0.4, 0.12),
    ("neighbour-", 0.1, 0.13, 0.25, 0.15), ("hood", 0.26, 0.13, 0.3, 0.15),
    ("teams.", 0.31, 0.13, 0.4, 0.15),
    ("Crisis", 0.1, 0.16, 0.2, 0.18), ("cafes", 0.21, 0.16, 0.3, 0.18),
]
PAGE = Page(1, [Block("Urgent care £12.5m"), Block("neighbourhood teams."),
                Block("Crisis cafes")], words=WORDS)


def test_each_text_token_is_matched_to_its_word() -> None:
    aligned = align_page(PAGE)
    assert PAGE.text == "Urgent care £12.5m\n\nneighbourhood teams.\n\nCrisis cafes"
    tokens = [PAGE.text[a:b] for a, b in zip(aligned.starts, aligned.ends, strict=True)]
    assert tokens == ["Urgent", "care", "12", "5m", "neighbourhood", "teams", "Crisis", "cafes"]
    # "£12.5m" is one word of two tokens; the rejoined hyphenation matches neither half
    assert aligned.token_words == [0, 1, 2, 2, -1, 5, 6, 7]


def test_a_chunk_becomes_one_rectangle_per_line() -> None:
    pages = {1: align_page(PAGE)}
    start = PAGE.text.index("care")
    end = PAGE.text.index("Crisis") + len("Crisis")
    assert chunk_boxes(pages, 1, start, 1, end) == [
        (1, 0.21, 0.1, 0.4, 0.12),  # "care £12.5m"
        (1, 0.31, 0.13, 0.4, 0.15),  # "teams." ("neighbourhood" has no box)
        (1, 0.1, 0.16, 0.2, 0.18),  # "Crisis"
    ]
    assert chunk_boxes(pages, 2, 0, 2, 10) == []  # no such page: nothing to draw


def test_a_chunk_across_pages_takes_the_tail_and_the_head() -> None:
    second = Page(2, [Block("Crisis cafes")], words=WORDS[6:])
    pages = {1: align_page(PAGE), 2: align_page(second)}
    start = PAGE.text.index("teams")
    assert chunk_boxes(pages, 1, start, 2, len("Crisis")) == [
        (1, 0.31, 0.13, 0.4, 0.15), (1, 0.1, 0.16, 0.3, 0.18),  # page 1 to its end
        (2, 0.1, 0.16, 0.2, 0.18)]  # page 2 up to char_end


def test_words_on_the_next_line_or_back_to_the_left_start_a_new_box() -> None:
    left_column = ("left", 0.1, 0.5, 0.2, 0.52)
    right_column_same_height = ("right", 0.6, 0.5, 0.7, 0.52)
    below_left = ("below", 0.1, 0.53, 0.2, 0.55)
    assert line_boxes(3, [left_column, right_column_same_height, below_left,
                          ("again", 0.05, 0.53, 0.09, 0.55)]) == [
        (3, 0.1, 0.5, 0.7, 0.52), (3, 0.1, 0.53, 0.2, 0.55), (3, 0.05, 0.53, 0.09, 0.55)]


def test_documents_without_word_boxes_have_no_aligned_pages() -> None:
    text_only = Document("plan.txt", [Page(1, [Block("Urgent care")])])
    assert align_document(text_only) == {}


def test_a_real_pdf_paragraph_gets_the_boxes_of_its_lines(tmp_path: Path) -> None:
    document = read_pdf(make_report_pdf(tmp_path / "report.pdf"), "report.pdf")
    page = document.pages[1]
    assert page.words is not None
    sentence = "Same day emergency care units will open seven days a week"
    start = page.text.index(sentence)
    boxes = chunk_boxes(align_document(document), 2, start, 2, start + len(sentence))
    wanted = sentence.split()
    first = next(i for i in range(len(page.words))
                 if [w[0] for w in page.words[i:i + len(wanted)]] == wanted)
    # exactly the sentence's own words, merged line by line
    assert boxes == line_boxes(2, page.words[first:first + len(wanted)])
    assert 1 <= len(boxes) <= 2  # the sentence wraps at most once
