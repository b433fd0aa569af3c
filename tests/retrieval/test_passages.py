"""Joining neighbouring chunks into one passage without repeating their overlap, and the
page each of its sentences is printed on."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from service.areas import Gazetteer
from service.embedding.sentences import sentence_spans
from service.indexing.build import build_index
from service.retrieval.passages import MIN_OVERLAP, join_overlapping, sentence_pages
from service.retrieval.results import DocumentRef, Hit
from service.retrieval.search import Searcher
from service.store import open_store


def longest_overlap_join(first: str, second: str) -> str:
    """The definition: try every overlap length, longest first."""
    for size in range(min(len(first), len(second)), MIN_OVERLAP - 1, -1):
        if first.endswith(second[:size]):
            return first + second[size:]
    return f"{first}\n\n{second}"


def test_the_shared_sentence_appears_once() -> None:
    first = "Gloucestershire opens two urgent treatment centres. NHS 111 online expands in 2020."
    second = "NHS 111 online expands in 2020. A clinical assessment service follows."
    assert join_overlapping(first, second) == (
        "Gloucestershire opens two urgent treatment centres. NHS 111 online expands in 2020."
        " A clinical assessment service follows.")


def test_chunks_that_share_no_sentence_are_joined_as_paragraphs() -> None:
    assert join_overlapping("Planned care moves to a hub.", "Outpatients go virtual.") == \
        "Planned care moves to a hub.\n\nOutpatients go virtual."


# a small alphabet makes repeated runs (and so several candidate overlaps) likely
TEXT = st.text(alphabet="ab .", max_size=90)


@given(TEXT, TEXT, st.integers(min_value=0, max_value=60))
def test_it_finds_the_longest_overlap(first: str, rest: str, shared: int) -> None:
    second = first[max(0, len(first) - shared):] + rest
    assert join_overlapping(first, second) == longest_overlap_join(first, second)


# --- the page a passage's sentence is printed on ---------------------------------------

PAGE_TEXTS = {
    14: "Staff turnover\n\nMost analysts stay in post for two to four years. Teams then",
    15: "recruit again.\n\nThe most frequent average tenure was 2-4 years (34%).",
}


def test_each_sentence_of_a_passage_over_a_page_break_gets_its_page() -> None:
    text = PAGE_TEXTS[14][16:] + "\n\n" + PAGE_TEXTS[15]
    spans = sentence_spans(text)
    pages = dict(sentence_pages(text, spans, 14, PAGE_TEXTS))
    by_text = {text[s:e]: page for (s, e), page in pages.items()}
    assert by_text["Most analysts stay in post for two to four years."] == 14
    assert by_text["The most frequent average tenure was 2-4 years (34%)."] == 15


def test_the_link_opens_the_page_of_the_highlighted_sentence() -> None:
    text = "Most analysts stay in post for two to four years. The most frequent average " \
           "tenure was 2-4 years (34%)."
    first, second = sentence_spans(text)
    document = DocumentRef("survey-pdf", "Analyst survey", None, "survey.pdf", None)
    hit = Hit(rank=1, score=0.5, text=text, page=14, page_end=15, page_label=None, section="",
              chunk_id=7, document=document, highlights=(second,), chunk_ids=(7,),
              span_pages=((first, 14), (second, 15)))
    assert hit.highlight_page == 15
    assert hit.url == "/documents/survey-pdf/pdf?page=15&chunk=7"
    assert hit.to_dict()["page"] == 14 and hit.to_dict()["highlight_page"] == 15
    # the answer quotes the first sentence: its card, and its link, move with it
    assert replace(hit, highlights=(first,)).url == "/documents/survey-pdf/pdf?page=14&chunk=7"


def test_a_pdf_passage_over_a_page_break_opens_where_its_answer_is(
        tmp_path: Path, embedder: Any) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_font("helvetica", "", 11)
    pdf.add_page()
    pdf.multi_cell(0, 6, "The trust employs four thousand nurses across its three hospitals "
                   "and its community teams.")
    pdf.add_page()  # the same section goes on: one passage over both pages
    pdf.multi_cell(0, 6, "Agency spending on temporary nurses fell by a third after the new "
                   "staff bank opened in March.")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    pdf.output(str(corpus / "workforce.pdf"))
    build_index(corpus, tmp_path / "index", embedder)
    store = open_store(tmp_path / "index")
    generation = store.current()
    assert generation is not None
    reader = store.open(generation)
    # the page texts a passage is matched against are read for its pages only
    assert [page.number for page in reader.pages("workforce-pdf", 2, 2)] == [2]
    assert [page.number for page in reader.pages("workforce-pdf")] == [1, 2]
    searcher = Searcher(reader, embedder, Gazetteer.load())
    hit = searcher.search("how much did agency spending fall", k=1).hits[0]
    assert (hit.page, hit.page_end) == (1, 2)
    assert hit.text[hit.highlights[0][0]:].startswith("Agency spending")
    assert hit.highlight_page == 2
    assert hit.url.startswith("/documents/workforce-pdf/pdf?page=2&")


def test_a_citation_gives_the_pages_a_passage_covers() -> None:
    document = DocumentRef("survey-pdf", "Analyst survey", None, "survey.pdf", None)
    hit = Hit(rank=1, score=0.5, text="Most analysts stay two to four years.", page=14,
              page_end=15, page_label=None, section="Workforce", chunk_id=7, document=document)
    assert hit.citation == "Analyst survey, pp.14\u201315, §Workforce"
    assert replace(hit, page_end=14).citation == "Analyst survey, p.14, §Workforce"
