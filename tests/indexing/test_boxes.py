"""Aligning a page's text to its word boxes, a chunk's offsets to rectangles, and the
rectangles kept in the index and handed to the PDF page view."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pdf_factory import TABLE_PAGE, TABLE_ROWS, make_report_pdf

from service.indexing.boxes import align_document, align_page, chunk_boxes, line_boxes
from service.indexing.build import build_index
from service.indexing.documents import Block, Document, Page
from service.indexing.readers.pdf import read_pdf
from service.store import open_store
from service.web.app import create_app

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


def test_a_table_row_gets_the_boxes_of_its_cells(tmp_path: Path) -> None:
    document = read_pdf(make_report_pdf(tmp_path / "report.pdf"), "report.pdf")
    page = document.pages[TABLE_PAGE - 1]
    aligned = align_document(document)
    heading_top = None
    for values in TABLE_ROWS:
        row = " | ".join(values)
        start = page.text.index(row)
        boxes = chunk_boxes(aligned, TABLE_PAGE, start, TABLE_PAGE, start + len(row))
        # one rectangle per cell line, all on one band of the page, every cell covered
        assert boxes and {box[0] for box in boxes} == {TABLE_PAGE}
        assert len({round(box[2], 2) for box in boxes}) == 1
        words = [w for w in page.words or [] if any(w[1] >= b[1] - 1e-6 and w[3] <= b[3] + 1e-6
                                                    and abs(w[2] - b[2]) < 0.01
                                                    for b in boxes)]
        assert " ".join(w[0] for w in words) == " ".join(" ".join(values).split())
        if heading_top is not None:
            assert boxes[0][2] > heading_top  # rows go down the page in order
        heading_top = boxes[0][2]


def test_the_index_keeps_boxes_for_pdf_chunks_only(tmp_path: Path, fake_embedder: Any) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_report_pdf(corpus / "plan.pdf")
    (corpus / "notes.txt").write_text("Notes\n\nCrisis cafes open in each town.\n")
    build_index(corpus, tmp_path / "index", fake_embedder)
    store = open_store(tmp_path / "index")
    generation = store.open(store.current() or "")
    try:
        owners = generation.chunk_documents(list(range(1, generation.chunk_count + 1)))
        boxes = generation.chunk_boxes(list(owners))
        assert set(boxes) == {i for i, doc in owners.items() if doc == "plan-pdf"}
        for chunk_id, chunk in generation.chunks(list(boxes)).items():
            assert boxes[chunk_id]
            assert {box[0] for box in boxes[chunk_id]} <= set(
                range(chunk.page_start, chunk.page_end + 1))
            assert all(0 <= x0 < x1 <= 1 and 0 <= top < bottom <= 1
                       for _, x0, top, x1, bottom in boxes[chunk_id])
    finally:
        generation.close()

    client = create_app({"INDEX_DIR": str(tmp_path / "index"), "CORPUS_DIR": str(corpus),
                         "EMBEDDER": fake_embedder}).test_client()
    first = min(boxes)
    page = client.get(f"/documents/plan-pdf/pdf?page=99&chunk={first}").get_data(as_text=True)
    assert '"page": 4' in page  # clamped to the last page
    assert json.dumps([list(box) for box in boxes[first]])[1:-1] in page
    assert client.get("/documents/notes-txt/pdf?page=1").status_code == 404
    assert client.get("/documents/missing/pdf").status_code == 404
