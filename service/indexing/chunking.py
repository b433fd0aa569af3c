"""Structure-aware chunking: cut at headings and paragraphs, never past the model's
token limit, with one sentence of overlap between neighbouring chunks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from service.embedding.sentences import sentence_spans
from service.indexing.documents import Document

SECTION_SEPARATOR = " > "
MAX_CONTEXT_TOKENS = 48  # title and section prefix; the passage itself gets the rest

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class ChunkSettings:
    # passage tokens, [CLS]/[SEP] excluded. 128 beat 180 on both evaluation sets and
    # encodes about twice as fast (BENCHMARKS.md); the model reads up to 256.
    chunk_tokens: int = 128
    overlap_sentences: int = 1
    contextual_prefix: bool = True  # embed "title > section" with the passage

    def as_dict(self) -> dict[str, object]:
        return {"chunk_tokens": self.chunk_tokens, "overlap_sentences": self.overlap_sentences,
                "contextual_prefix": self.contextual_prefix, "version": 4}


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    page_start: int
    page_end: int
    section: str
    char_start: int  # offset into the text of page_start
    char_end: int  # offset into the text of page_end
    text: str
    ocr: bool = False  # some of the text was read by OCR from an image of the page


@dataclass(frozen=True)
class Unit:
    """A paragraph, or a sentence (or word window) of a paragraph too long to keep whole."""

    page: int
    start: int
    end: int
    tokens: int
    section: str
    sentence: bool
    heading: bool = False
    level: int = 0  # heading depth; 0 for body text


def word_windows(text: str, base: int, budget: int, count: TokenCounter
                 ) -> Iterator[tuple[int, int, int]]:
    """Split an over-long run of text into word windows of at most `budget` tokens."""
    window: tuple[int, int] | None = None  # (start, end) of the words gathered so far
    tokens = 0
    for match in re.finditer(r"\S+", text):
        start, end = match.span()
        cost = max(1, count(text[start:end]) - 2)
        if window is not None and (tokens + cost > budget or cost > budget):
            yield base + window[0], base + window[1], tokens
            window, tokens = None, 0
        if cost > budget:
            # one "word" the model sees as hundreds of tokens: a dotted leader, a list
            # with no spaces. Cut it by characters rather than let the model truncate it.
            yield from character_windows(text, start, end, base, budget, count)
            continue
        window = (window[0] if window else start, end)
        tokens += cost
    if window is not None:
        yield base + window[0], base + window[1], tokens


def character_windows(text: str, start: int, end: int, base: int, budget: int,
                      count: TokenCounter) -> Iterator[tuple[int, int, int]]:
    while start < end:
        size = min(end - start, budget)  # a token covers at least one character
        while size > 1 and count(text[start:start + size]) - 2 > budget:
            size //= 2  # unless normalisation expands it; rare enough to halve blindly
        yield base + start, base + start + size, max(1, count(text[start:start + size]) - 2)
        start += size


def document_units(document: Document, budget: int, count: TokenCounter) -> list[Unit]:
    units: list[Unit] = []
    headings: list[tuple[int, str]] = []
    for page in document.pages:
        for block, (start, end) in zip(page.blocks, page.block_offsets(), strict=True):
            if block.heading_level is not None:
                headings = [h for h in headings if h[0] < block.heading_level]
                headings.append((block.heading_level, block.text))
                # headings stay in the text too: short lines read as headings are often
                # content ("From Halima Rashid, Programme Director")
                tokens = min(count(block.text) - 2, budget)
                section = SECTION_SEPARATOR.join(text for _, text in headings)
                units.append(Unit(page.number, start, end, tokens, section, False, True,
                                  block.heading_level))
                continue
            section = SECTION_SEPARATOR.join(text for _, text in headings)
            tokens = count(block.text) - 2
            if tokens <= budget:
                units.append(Unit(page.number, start, end, tokens, section, False))
                continue
            for s, e in sentence_spans(block.text):
                piece = block.text[s:e]
                piece_tokens = count(piece) - 2
                if piece_tokens <= budget:
                    units.append(Unit(page.number, start + s, start + e, piece_tokens, section,
                                      True))
                else:
                    for ws, we, wt in word_windows(piece, start + s, budget, count):
                        units.append(Unit(page.number, ws, we, wt, section, True))
    return units


def last_sentence(unit: Unit, page_text: str, count: TokenCounter) -> Unit:
    if unit.sentence:
        return unit
    s, e = sentence_spans(page_text[unit.start:unit.end])[-1]
    text = page_text[unit.start + s:unit.start + e]
    return Unit(unit.page, unit.start + s, unit.start + e, count(text) - 2, unit.section, True)


def is_contents_list(units: list[Unit]) -> bool:
    """Headings and nothing else, several of them: a contents page, not a passage."""
    return len(units) >= 4 and all(u.heading for u in units)


def chunk_document(document: Document, count: TokenCounter,
                   settings: ChunkSettings = ChunkSettings()) -> list[Chunk]:
    """Pack paragraphs into chunks of at most `settings.chunk_tokens` model tokens.
    Contents lists are left out: they match every topic and answer none."""
    budget = settings.chunk_tokens
    page_text = {page.number: page.text for page in document.pages}
    ocr_pages = {page.number for page in document.pages if page.ocr}
    groups: list[list[Unit]] = []
    current: list[Unit] = []
    for unit in document_units(document, budget, count):
        used = sum(u.tokens for u in current)
        # a heading opens a chunk, unless the chunk so far holds only headings
        opens_section = unit.heading and not all(u.heading for u in current)
        new_section = unit.section != current[-1].section and not current[-1].heading \
            if current else False
        if not unit.heading and len(current) > 1 and all(u.heading for u in current):
            # a run of headings with no text between them is a contents list: only the
            # chain of headings directly above this text belongs to its chunk
            j = len(current) - 1
            while j > 0 and current[j - 1].level < current[j].level:
                j -= 1
            if j > 0:
                groups.append(current[:j])
                current = current[j:]
                used = sum(u.tokens for u in current)
        if current and (opens_section or new_section or used + unit.tokens > budget):
            groups.append(current)
            current = []
            previous = groups[-1][-1]
            if settings.overlap_sentences and previous.section == unit.section \
                    and not previous.heading and not unit.heading:
                overlap = last_sentence(previous, page_text[previous.page], count)
                if overlap.tokens + unit.tokens <= budget and overlap.tokens <= budget // 3:
                    current.append(overlap)
        current.append(unit)
    if current:
        groups.append(current)
    kept = [group for group in groups if not is_contents_list(group)]
    return [make_chunk(i, group, page_text, ocr_pages) for i, group in enumerate(kept)]


def make_chunk(ordinal: int, units: list[Unit], page_text: dict[int, str],
               ocr_pages: frozenset[int] | set[int] = frozenset()) -> Chunk:
    parts: list[str] = []
    runs: list[list[Unit]] = []
    for unit in units:  # consecutive units on one page are one slice of its text
        if runs and runs[-1][-1].page == unit.page and unit.start >= runs[-1][-1].start:
            runs[-1].append(unit)
        else:
            runs.append([unit])
    for run in runs:
        parts.append(page_text[run[0].page][run[0].start:max(u.end for u in run)])
    first, last = units[0], units[-1]
    # the section is the one the passage's content sits under, not a heading that opens it
    section = next((u.section for u in units if not u.heading), last.section)
    return Chunk(ordinal, first.page, last.page, section, first.start, last.end,
                 "\n\n".join(parts), ocr=any(unit.page in ocr_pages for unit in units))


def embedding_text(title: str, section: str, text: str, count: TokenCounter,
                   settings: ChunkSettings) -> str:
    """What the model embeds: the passage, led by its title and section for context."""
    if not settings.contextual_prefix:
        return text
    context = title if not section else f"{title}{SECTION_SEPARATOR}{section}"
    if count(context) - 2 > MAX_CONTEXT_TOKENS:
        words = context.split()
        while words and count(" ".join(words)) - 2 > MAX_CONTEXT_TOKENS:
            words = words[: max(1, len(words) * 3 // 4)] if len(words) > 1 else []
        context = " ".join(words)
    return f"{context}\n{text}" if context else text
