"""What the learned ranker knows about each candidate passage: general features of the
question, the passage and its document, never of one set's wording. Every feature is a
number comparable across questions (a share, a gap from the question's best, a cosine),
so a model fitted on some documents carries over to others."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from service.retrieval.coverage import term_coverage
from service.retrieval.passages import Candidate
from service.store import ChunkRow
from service.store.records import SentenceVectors
from service.text.kinds import BODY, GLOSSARY, REFERENCES
from service.text.kinds import CONTENTS as CONTENTS_KIND

FEATURES = (
    "fused",  # the convex fusion score (area boost included), over the question's best
    "dense", "dense_gap",  # the passage's cosine, and its distance below the best one
    "keyword",  # BM25 over the question's best BM25
    "dense_rrank", "keyword_rrank",  # 1 / rank in each retriever's order
    "sentence", "sentence_gap",  # the best quotable sentence's cosine, and its gap
    "sentence_any",  # the best sentence's cosine, quotable or not
    "statements",  # the share of the passage's sentences that could be quoted
    "coverage", "section_coverage",  # topic words found in the text, in the heading
    "in_area", "other_area",  # the document is of the area the question names, or not
    "position", "front_page",  # where in its document; on its first two pages
    "length",  # log words
    "references", "contents", "glossary",  # apparatus the question does not ask for
    "doc_best", "doc_share", "doc_rrank",  # its document's best cosine, share, rank
)


@dataclass(frozen=True)
class Question:
    """What the features need to know about the question."""

    terms: set[str]  # topic stems
    area: str | None  # the area it names, when the index has it
    asked: frozenset[str]  # apparatus kinds it asks about


@dataclass(frozen=True)
class Library:
    """What the features need to know about documents and chunks."""

    area_of: dict[str, str | None]  # document id -> area
    chunks_in: dict[str, int]  # document id -> its chunk count
    kind_of: Callable[[ChunkRow], str]  # cached passage kind
    known_kind: Callable[[int], str | None] = lambda chunk_id: None  # from the cache only


def reciprocal_ranks(values: dict[int, float], ids: list[int]) -> dict[int, float]:
    order = sorted(ids, key=lambda i: -values.get(i, 0.0))
    return {chunk: 1.0 / rank for rank, chunk in enumerate(order, start=1)}


def sentence_scores(stored: tuple[object, np.ndarray] | None, mask: np.ndarray | None,
                    vector: np.ndarray) -> tuple[float, float, float]:
    """The best quotable sentence's cosine, the best of any sentence, the quotable share."""
    if stored is None or not len(stored[1]):
        return 0.0, 0.0, 0.0
    similarities = stored[1] @ vector
    kept = similarities[mask] if mask is not None and len(mask) == len(similarities) \
        else similarities
    share = float(mask.mean()) if mask is not None and len(mask) else 1.0
    return (float(kept.max()) if len(kept) else 0.0), float(similarities.max()), share


def document_features(window: list[Candidate], dense: dict[int, float],
                      doc_of: dict[int, str]) -> dict[str, tuple[float, float, float]]:
    """Per document: its best cosine among the candidates, its share of them, and
    1 / its rank by best fused score."""
    best: dict[str, float] = {}
    count: dict[str, int] = {}
    first: dict[str, int] = {}
    for position, candidate in enumerate(window):
        doc = doc_of.get(candidate.chunk_id, "")
        best[doc] = max(best.get(doc, -1.0), dense.get(candidate.chunk_id, 0.0))
        count[doc] = count.get(doc, 0) + 1
        first.setdefault(doc, position)
    order = sorted(first, key=lambda d: first[d])
    return {doc: (best[doc], count[doc] / len(window), 1.0 / (order.index(doc) + 1))
            for doc in best}


def candidate_features(question: Question, window: list[Candidate], dense: dict[int, float],
                       keyword: dict[int, float], rows: dict[int, ChunkRow],
                       sentences: SentenceVectors, masks: dict[int, np.ndarray],
                       vector: np.ndarray, library: Library) -> np.ndarray:
    """One row of FEATURES per candidate of the window, in its order."""
    ids = [c.chunk_id for c in window]
    top_fused = max((c.score for c in window), default=1.0) or 1.0
    top_dense = max((dense.get(i, 0.0) for i in ids), default=0.0)
    top_keyword = max((keyword.get(i, 0.0) for i in ids), default=0.0)
    dense_rank, keyword_rank = reciprocal_ranks(dense, ids), reciprocal_ranks(keyword, ids)
    scored = {i: sentence_scores(sentences.get(i), masks.get(i), vector) for i in ids}
    top_sentence = max((s[0] for s in scored.values()), default=0.0)
    doc_of = {i: row.doc_id for i, row in rows.items()}
    documents = document_features(window, dense, doc_of)
    table = np.zeros((len(window), len(FEATURES)), dtype=np.float32)
    for n, candidate in enumerate(window):
        chunk = candidate.chunk_id
        row = rows.get(chunk)
        cosine = dense.get(chunk, 0.0)
        sentence, anything, share = scored[chunk]
        values = [candidate.score / top_fused, cosine, top_dense - cosine,
                  keyword.get(chunk, 0.0) / top_keyword if top_keyword > 0 else 0.0,
                  dense_rank[chunk], keyword_rank[chunk], sentence, top_sentence - sentence,
                  anything, share]
        if row is None:
            table[n, :len(values)] = values
            continue
        area = library.area_of.get(row.doc_id)
        kind = library.kind_of(row)
        unasked = kind != BODY and kind not in question.asked
        values += [term_coverage(question.terms, row.text),
                   term_coverage(question.terms, row.section) if row.section.strip() else 0.0,
                   float(bool(question.area) and area == question.area),
                   float(bool(question.area) and area != question.area),
                   row.ordinal / max(library.chunks_in.get(row.doc_id, 1), 1),
                   float(row.page_start <= 2),
                   float(np.log1p(len(row.text.split()))),
                   float(unasked and kind == REFERENCES),
                   float(unasked and kind == CONTENTS_KIND),
                   float(unasked and kind == GLOSSARY),
                   *documents.get(row.doc_id, (0.0, 0.0, 0.0))]
        table[n] = values
    return table
