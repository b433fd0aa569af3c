"""From ranked chunk ids to cited passages: merge neighbouring chunks, drop
near-duplicates, hydrate text and attribution, and highlight the best sentence."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from service.retrieval.results import DocumentRef, Hit
from service.store import ChunkRow, IndexReader

MAX_MERGED = 3  # chunks in one passage, so a card stays readable
NEAR_DUPLICATE = 0.6  # Jaccard overlap of word 5-grams above which a passage is a repeat
# chunks -> chunk id -> [(sentence span in the chunk text, similarity to the query)]
SentenceScorer = Callable[[list[ChunkRow]], dict[int, list[tuple[tuple[int, int], float]]]]


@dataclass(frozen=True)
class Candidate:
    chunk_id: int
    score: float
    dense_score: float | None = None


@dataclass
class Passage:
    rows: list[ChunkRow]
    score: float
    dense: float | None = None  # the best cosine among its chunks

    @property
    def doc_id(self) -> str:
        return self.rows[0].doc_id

    def touches(self, row: ChunkRow) -> bool:
        ordinals = [r.ordinal for r in self.rows]
        return row.doc_id == self.doc_id and min(ordinals) - 1 <= row.ordinal <= max(ordinals) + 1

    @property
    def text(self) -> str:
        rows = sorted(self.rows, key=lambda r: r.ordinal)
        text = rows[0].text
        for row in rows[1:]:
            text = join_overlapping(text, row.text)
        return text


MIN_OVERLAP = 21  # characters: a shorter shared run is a coincidence, not the overlap
PAGE_PROBE = 60  # characters of a sentence's opening looked for on its page


def join_overlapping(first: str, second: str) -> str:
    """Concatenate neighbouring chunks without repeating their shared overlap sentence:
    the longest end of `first` that starts `second`. Only the places where second's
    opening occurs in first are tried (trying every length was quadratic)."""
    if min(len(first), len(second)) < MIN_OVERLAP:
        return f"{first}\n\n{second}"
    probe = second[:MIN_OVERLAP]
    position = first.find(probe, max(0, len(first) - len(second)))
    while position != -1:  # the earliest position is the longest overlap
        if second.startswith(first[position:]):
            return first + second[len(first) - position:]
        position = first.find(probe, position + 1)
    return f"{first}\n\n{second}"


def shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + 5]) for i in range(max(1, len(words) - 4))}


def jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def best_of(first: float | None, second: float | None) -> float | None:
    return second if first is None else first if second is None else max(first, second)


def ranked_sentences(passage: Passage, text: str, scores: dict[int, list[tuple[tuple[int, int],
                     float]]]) -> list[tuple[tuple[int, int], float]]:
    """The passage's sentences as spans in its text, best first."""
    found: dict[tuple[int, int], float] = {}
    for row in passage.rows:
        for (s, e), score in scores.get(row.id, []):
            position = text.find(row.text[s:e])
            if position >= 0:
                span = (position, position + e - s)
                found[span] = max(score, found.get(span, -1.0))
    return sorted(found.items(), key=lambda item: -item[1])


def highlight_spans(ranked: list[tuple[tuple[int, int], float]]) -> tuple[tuple[int, int], ...]:
    """The best sentence, and the runner-up when it is nearly as good."""
    if not ranked:
        return ()
    chosen = [ranked[0][0]]
    if len(ranked) > 1 and ranked[1][1] >= ranked[0][1] - 0.02:
        chosen.append(ranked[1][0])
    return tuple(sorted(chosen))


def sentence_pages(text: str, spans: list[tuple[int, int]], first: int,
                   page_texts: dict[int, str]) -> tuple[tuple[tuple[int, int], int], ...]:
    """The page each sentence of a passage over pages first.. is printed on. A passage's
    text is slices of its pages' texts, so a sentence's opening is found on its page; one
    not found (it crosses a slice) keeps the page of the sentence before it."""
    found = []
    page, numbers = first, sorted(page_texts)
    for span in sorted(spans):
        opening = text[span[0]:span[1]][:PAGE_PROBE].strip()
        page = next((number for number in numbers
                     if number >= page and opening and opening in page_texts[number]), page)
        found.append((span, page))
    return tuple(found)


def assemble_passages(ranked: list[Candidate], k: int, generation: IndexReader,
                      documents: dict[str, DocumentRef], scorer: SentenceScorer | None
                      ) -> list[Hit]:
    window = ranked[: max(k * 4, 20)]
    rows = generation.chunks([c.chunk_id for c in window])
    passages: list[Passage] = []
    seen_shingles: list[set[tuple[str, ...]]] = []
    for candidate in window:
        if len(passages) >= k:
            break  # only chunks that made the top k merge: a lower one never joins
        row = rows.get(candidate.chunk_id)
        if row is None:
            continue
        neighbour = next((p for p in passages if p.touches(row)), None)
        if neighbour is not None and len(neighbour.rows) < MAX_MERGED:
            neighbour.rows.append(row)  # adjacent chunks of one document read as one passage
            neighbour.dense = best_of(neighbour.dense, candidate.dense_score)
            continue
        marks = shingles(row.text)
        if any(jaccard(marks, other) >= NEAR_DUPLICATE for other in seen_shingles):
            continue  # the same boilerplate in another document
        seen_shingles.append(marks)
        passages.append(Passage([row], candidate.score, candidate.dense_score))
    scores = scorer([row for p in passages for row in p.rows]) if scorer else {}
    hits = []
    for rank, passage in enumerate(passages, start=1):
        ordered = sorted(passage.rows, key=lambda r: r.ordinal)
        text = passage.text
        sentences = ranked_sentences(passage, text, scores)
        page, page_end = ordered[0].page_start, max(r.page_end for r in ordered)
        span_pages = () if page == page_end or not sentences else sentence_pages(
            text, [span for span, _ in sentences], page,
            {p.number: p.text for p in generation.pages(passage.doc_id, page, page_end)})
        hits.append(Hit(
            # the fused score until search.py calibrates it
            rank=rank, score=passage.score, text=text, dense=passage.dense,
            page=page, page_end=page_end, span_pages=span_pages,
            page_label=ordered[0].page_label, section=ordered[0].section,
            chunk_id=ordered[0].id, document=documents[passage.doc_id],
            highlights=highlight_spans(sentences),
            chunk_ids=tuple(r.id for r in ordered),
            sentences=tuple(sentences), ocr=any(r.ocr for r in ordered)))
    return hits
