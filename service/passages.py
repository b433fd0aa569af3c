"""From ranked chunk ids to cited passages: merge neighbouring chunks, drop
near-duplicates, hydrate text and attribution, and highlight the best sentence."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from service.chunking import sentence_spans
from service.results import DocumentRef, Hit
from service.store import ChunkRow, IndexGeneration

NEAR_DUPLICATE = 0.6  # Jaccard overlap of word 5-grams above which a passage is a repeat
SentenceScorer = Callable[[str, list[str]], np.ndarray]


@dataclass(frozen=True)
class Candidate:
    chunk_id: int
    score: float
    dense_score: float | None = None


@dataclass
class Passage:
    rows: list[ChunkRow]
    score: float

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


def join_overlapping(first: str, second: str) -> str:
    """Concatenate neighbouring chunks without repeating their shared overlap sentence."""
    limit = min(len(first), len(second))
    for size in range(limit, 20, -1):
        if first.endswith(second[:size]):
            return first + second[size:]
    return f"{first}\n\n{second}"


def shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + 5]) for i in range(max(1, len(words) - 4))}


def jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def best_sentences(text: str, key: str, scorer: SentenceScorer) -> tuple[tuple[int, int], ...]:
    """The span of the sentence that best answers the query (two when nearly tied)."""
    spans = sentence_spans(text)
    if not spans:
        return ()
    scores = scorer(key, [text[s:e] for s, e in spans])
    order = np.argsort(-scores)
    chosen = [spans[order[0]]]
    if len(order) > 1 and scores[order[1]] >= scores[order[0]] - 0.02:
        chosen.append(spans[order[1]])
    return tuple(sorted(chosen))


def assemble_passages(ranked: list[Candidate], k: int, generation: IndexGeneration,
                      documents: dict[str, DocumentRef], scorer: SentenceScorer | None,
                      max_score: float | None = None) -> list:  # list[Hit]
    window = ranked[: max(k * 4, 20)]
    rows = generation.chunks([c.chunk_id for c in window])
    passages: list[Passage] = []
    seen_shingles: list[set[tuple[str, ...]]] = []
    for candidate in window:
        row = rows.get(candidate.chunk_id)
        if row is None:
            continue
        neighbour = next((p for p in passages if p.touches(row)), None)
        if neighbour is not None:
            neighbour.rows.append(row)  # adjacent chunks of one document read as one passage
            continue
        if len(passages) >= k:
            continue
        marks = shingles(row.text)
        if any(jaccard(marks, other) >= NEAR_DUPLICATE for other in seen_shingles):
            continue  # the same boilerplate in another document
        seen_shingles.append(marks)
        passages.append(Passage([row], candidate.score))
    top = max_score or (passages[0].score if passages else 1.0)
    hits = []
    for rank, passage in enumerate(passages, start=1):
        ordered = sorted(passage.rows, key=lambda r: r.ordinal)
        text = passage.text
        key = "|".join(str(r.id) for r in ordered)
        hits.append(Hit(
            rank=rank, score=min(1.0, passage.score / top) if top else 0.0, text=text,
            page=ordered[0].page_start, page_end=max(r.page_end for r in ordered),
            page_label=ordered[0].page_label, section=ordered[0].section,
            chunk_id=ordered[0].id, document=documents[passage.doc_id],
            highlights=best_sentences(text, key, scorer) if scorer else (),
            chunk_ids=tuple(r.id for r in ordered)))
    return hits
