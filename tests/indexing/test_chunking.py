"""Chunking with the real model's tokenizer: every chunk fits the model, carries its
heading path and offsets, overlaps its neighbour by one sentence, and over-long
paragraphs, sentences and "words" are split rather than truncated by the model."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import BUNDLED_CORPUS
from pdf_factory import make_report_pdf

from service.embedding.models import SentenceTransformerEmbedder
from service.indexing.chunking import (
    MAX_CONTEXT_TOKENS,
    Chunk,
    ChunkSettings,
    chunk_document,
    embedding_text,
)
from service.indexing.documents import Block, Document, Page
from service.indexing.readers import read_document

BUDGET = ChunkSettings().chunk_tokens


@pytest.fixture(scope="module")
def model() -> SentenceTransformerEmbedder:
    """The real model's tokenizer and limits; its weights (and torch) are never loaded."""
    return SentenceTransformerEmbedder()


def passage_tokens(model: SentenceTransformerEmbedder, text: str) -> int:
    return model.count_tokens(text) - 2  # without [CLS] and [SEP]


def assert_fits_the_model(model: SentenceTransformerEmbedder, document: Document,
                          chunks: list[Chunk]) -> None:
    title = document.meta.title or document.first_heading() or document.path
    for chunk in chunks:
        assert passage_tokens(model, chunk.text) <= BUDGET, chunk.text[:80]
        embedded = embedding_text(title, chunk.section, chunk.text, model.count_tokens,
                                  ChunkSettings())
        assert model.count_tokens(embedded) <= model.max_seq_length, chunk.text[:80]


def assert_offsets_slice_back(document: Document, chunks: list[Chunk]) -> None:
    text = {page.number: page.text for page in document.pages}
    for chunk in chunks:
        if chunk.page_start == chunk.page_end:
            assert text[chunk.page_start][chunk.char_start:chunk.char_end] == chunk.text
        else:  # slices of several pages, joined by the block separator
            assert text[chunk.page_start][chunk.char_start:].startswith(
                chunk.text.split("\n\n")[0])
            assert text[chunk.page_end][:chunk.char_end].endswith(
                chunk.text.rsplit("\n\n", 1)[-1])


def test_model_window_is_what_the_chunk_budget_assumes(model: SentenceTransformerEmbedder
                                                       ) -> None:
    assert model.max_seq_length == 256
    # passage + context + [CLS]/[SEP] + the newline between them must fit the window
    assert BUDGET + MAX_CONTEXT_TOKENS + 2 + 1 <= model.max_seq_length


def test_generated_pdf_chunks_fit_the_model(tmp_path: Path,
                                            model: SentenceTransformerEmbedder) -> None:
    path = make_report_pdf(tmp_path / "plan.pdf", two_column=True, appendix_paragraphs=14)
    document = read_document(path, "plan.pdf")
    chunks = chunk_document(document, model.count_tokens)
    assert len(document.pages) == 7
    assert {chunk.page_start for chunk in chunks} == {1, 2, 3, 4, 5, 6, 7}
    assert max(passage_tokens(model, chunk.text) for chunk in chunks) > BUDGET * 0.8
    assert_fits_the_model(model, document, chunks)
    assert_offsets_slice_back(document, chunks)
    # the appendix's paragraph that runs over a page break makes one two-page chunk
    assert [(c.page_start, c.page_end) for c in chunks if c.page_start != c.page_end] == [
        (6, 7)]


@pytest.mark.parametrize("name", sorted(p.name for p in BUNDLED_CORPUS.iterdir()
                                        if not p.name.startswith(".")))
def test_bundled_corpus_chunks_fit_the_model(name: str,
                                             model: SentenceTransformerEmbedder) -> None:
    document = read_document(BUNDLED_CORPUS / name, name)
    chunks = chunk_document(document, model.count_tokens)
    assert chunks
    assert_fits_the_model(model, document, chunks)
    assert_offsets_slice_back(document, chunks)
    # every word of body text is in some chunk, and chunks hold nothing else (headings
    # stay with their passages; a bare contents list may be left out)
    chunked = set(" ".join(chunk.text for chunk in chunks).split())
    body = {word for page in document.pages for block in page.blocks
            if block.heading_level is None for word in block.text.split()}
    everything = {word for page in document.pages for word in page.text.split()}
    assert body <= chunked <= everything


def test_sections_carry_their_heading_path(tmp_path: Path,
                                           model: SentenceTransformerEmbedder) -> None:
    path = tmp_path / "plan.txt"
    path.write_text(
        "5 Responding to the NHS Long Term Plan\n\n"
        "The Long Term Plan asks every system to do five things.\n\n"
        "5.1 Out of hospital care\n\n"
        "Community teams will respond within two hours.\n\n"
        "5.2 Personalised care\n\n"
        "Personal health budgets will reach two thousand people.\n\n"
        "6 Building a sustainable partnership\n\n"
        "The partnership board meets monthly.\n",
        encoding="utf-8")
    document = read_document(path, "plan.txt")
    chunks = chunk_document(document, model.count_tokens)
    # each chunk opens with its own heading; the section is the path down to it
    assert [(chunk.section, chunk.text) for chunk in chunks] == [
        ("5 Responding to the NHS Long Term Plan",
         "5 Responding to the NHS Long Term Plan\n\n"
         "The Long Term Plan asks every system to do five things."),
        ("5 Responding to the NHS Long Term Plan > 5.1 Out of hospital care",
         "5.1 Out of hospital care\n\nCommunity teams will respond within two hours."),
        ("5 Responding to the NHS Long Term Plan > 5.2 Personalised care",
         "5.2 Personalised care\n\nPersonal health budgets will reach two thousand people."),
        ("6 Building a sustainable partnership",
         "6 Building a sustainable partnership\n\nThe partnership board meets monthly."),
    ]
    assert [chunk.ordinal for chunk in chunks] == [0, 1, 2, 3]
    assert_offsets_slice_back(document, chunks)


def numbered_sentences(count: int, topic: str = "the community team") -> list[str]:
    return [f"Sentence number {i} explains how {topic} supports patients at home in ward {i}."
            for i in range(1, count + 1)]


def test_consecutive_chunks_in_a_section_share_one_sentence(
        model: SentenceTransformerEmbedder) -> None:
    sentences = numbered_sentences(36)
    paragraphs = [" ".join(sentences[i:i + 4]) for i in range(0, 36, 4)]  # ~64 tokens each
    document = Document("plan.md", [Page(1, [
        Block("5.1 Out of hospital care", 2), *[Block(p) for p in paragraphs],
        Block("5.2 Personalised care", 2), Block("A short closing paragraph."),
    ])])
    # at 180 tokens (the old default) a chunk holds a heading and two such paragraphs
    chunks = chunk_document(document, model.count_tokens, ChunkSettings(chunk_tokens=180))
    in_section = [c for c in chunks if c.section == "5.1 Out of hospital care"]
    assert len(in_section) == 5
    # the heading and two paragraphs fill the first chunk; each later one opens with the
    # sentence the chunk before it ended on, then the next two paragraphs
    assert in_section[0].text == "\n\n".join(["5.1 Out of hospital care", *paragraphs[0:2]])
    assert in_section[1].text == sentences[7] + "\n\n" + "\n\n".join(paragraphs[2:4])
    for before, after in zip(in_section, in_section[1:], strict=False):
        shared = [s for s in sentences if s in before.text and s in after.text]
        assert len(shared) == 1
        assert before.text.endswith(shared[0]) and after.text.startswith(shared[0])
    # no overlap across a heading: the next section starts fresh
    assert chunks[-1].section == "5.2 Personalised care"
    assert chunks[-1].text == "5.2 Personalised care\n\nA short closing paragraph."
    assert_offsets_slice_back(document, chunks)


def test_paragraph_longer_than_the_budget_is_split_at_sentences(
        model: SentenceTransformerEmbedder) -> None:
    sentences = numbered_sentences(30)
    paragraph = " ".join(sentences)
    assert passage_tokens(model, paragraph) > 2 * BUDGET
    document = Document("plan.md", [Page(1, [Block(paragraph)])])
    chunks = chunk_document(document, model.count_tokens)
    spans = []
    for chunk in chunks:
        assert passage_tokens(model, chunk.text) <= BUDGET
        # each chunk is a run of whole sentences: a, a+1, ..., b-1
        first = next(i for i, s in enumerate(sentences) if chunk.text.startswith(s))
        last = next(i for i, s in enumerate(sentences) if chunk.text.endswith(s))
        assert chunk.text == " ".join(sentences[first:last + 1])
        spans.append((first, last))
    assert spans[0][0] == 0 and spans[-1][1] == len(sentences) - 1
    for (_, last), (first, _) in zip(spans, spans[1:], strict=False):
        assert first == last  # one sentence of overlap, nothing skipped
    assert_offsets_slice_back(document, chunks)


def test_sentence_longer_than_the_budget_is_split_into_word_windows(
        model: SentenceTransformerEmbedder) -> None:
    run_on = " ".join(f"item{i} on the long unpunctuated list" for i in range(120))
    assert passage_tokens(model, run_on) > 3 * BUDGET
    document = Document("plan.md", [Page(1, [Block(run_on)])])
    chunks = chunk_document(document, model.count_tokens)
    assert len(chunks) >= 4
    assert all(passage_tokens(model, chunk.text) <= BUDGET for chunk in chunks)
    # windows are too big to overlap: together they are the words, once each, in order
    assert " ".join(chunk.text for chunk in chunks).split() == run_on.split()
    assert_offsets_slice_back(document, chunks)


@pytest.mark.parametrize("word", [
    "." * 400,  # a dotted contents-page leader: one token per dot
    ",".join(str(i) for i in range(300)),  # a list with no spaces
])
def test_single_word_longer_than_the_budget_is_cut_by_characters(
        word: str, model: SentenceTransformerEmbedder) -> None:
    text = f"Contents {word} 12"
    assert passage_tokens(model, word) > 2 * BUDGET
    document = Document("plan.md", [Page(1, [Block(text)])])
    chunks = chunk_document(document, model.count_tokens)
    assert all(passage_tokens(model, chunk.text) <= BUDGET for chunk in chunks)
    assert "".join(chunk.text for chunk in chunks).replace(" ", "") == text.replace(" ", "")
    assert_offsets_slice_back(document, chunks)


def test_a_smaller_budget_is_respected(model: SentenceTransformerEmbedder) -> None:
    paragraph = " ".join(numbered_sentences(12))
    document = Document("plan.md", [Page(1, [Block(paragraph)])])
    chunks = chunk_document(document, model.count_tokens, ChunkSettings(chunk_tokens=40))
    assert len(chunks) >= 6
    assert all(passage_tokens(model, chunk.text) <= 40 for chunk in chunks)


def test_embedding_text_leads_with_title_and_section(model: SentenceTransformerEmbedder
                                                     ) -> None:
    settings = ChunkSettings()
    assert embedding_text("Five Year Plan", "5 Responding > 5.1 Out of hospital care",
                          "Passage.", model.count_tokens, settings) == (
        "Five Year Plan > 5 Responding > 5.1 Out of hospital care\nPassage.")
    assert embedding_text("Five Year Plan", "", "Passage.", model.count_tokens,
                          settings) == "Five Year Plan\nPassage."
    assert embedding_text("Five Year Plan", "Section", "Passage.", model.count_tokens,
                          ChunkSettings(contextual_prefix=False)) == "Passage."


def test_embedding_text_trims_a_long_context(model: SentenceTransformerEmbedder) -> None:
    title = " ".join(f"Titleword{i}" for i in range(60))
    section = " > ".join(f"Heading number {i}" for i in range(20))
    text = embedding_text(title, section, "The passage itself.", model.count_tokens,
                          ChunkSettings())
    context, passage = text.rsplit("\n", 1)
    assert passage == "The passage itself."
    assert title.startswith(context)
    assert 0 < passage_tokens(model, context) <= MAX_CONTEXT_TOKENS
