"""The extractive answer: the sentences of the top passages that answer the question,
each cited. No language model is involved. A sentence scores by its similarity to the
question (sentence vectors stored at build time), its keyword overlap with the question
(the search analyser) and whether it holds what the question asks for: a number for
"how many", a date for "when", a body for "who", a place for "where"; those features
are weighed by a hand-set formula, or by a learned model (sentence_scorer.py)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from service.retrieval.questions import holds_answer, question_type
from service.retrieval.quotable import (
    BULLET,
    clean_sentence,
    continues,
    is_dangling,
    is_name_line,
    is_statement,
    terms,
)
from service.retrieval.results import Hit
from service.retrieval.sentence_scorer import (
    FEATURES,
    RANK_PENALTY,
    AnswerScorer,
    scores,
)
from service.text import index_terms, name_phrases, query_terms, root

WORD_BUDGET = 100  # words in the whole answer: staff read it at a glance
MAX_SENTENCES = 6
MIN_SENTENCES = 2
LIST_ITEMS = 3  # list items quoted after a sentence that introduces them
SHORTLIST = 20  # sentences, closest to the question first, that are scored in full
PASSAGES = 5  # the sources shown under the answer
ROOT_CREDIT = 0.5  # share of a term's weight earned by a word of the same root only (stems.root)
SHORT_SENTENCE = 25  # words; longer sentences pay LENGTH_PENALTY per this many more
DIGIT = re.compile(r"\d")
CLEAR_WIN = 0.05  # how much another sentence must beat the first passage's best by
RELEVANCE_FLOOR = 0.6  # beyond the minimum, a sentence must score this share of the best
REDUNDANCY = 0.5  # MMR: weight of the word overlap with sentences already chosen
NEAR_DUPLICATE = 0.8  # word overlap above which a sentence repeats one already chosen
COMPLETION_SLACK = 10  # words over budget allowed to finish a thought already quoted

@dataclass(frozen=True)
class Sentence:
    """A candidate sentence of source `rank`, scored against the question."""

    rank: int
    span: tuple[int, int]
    text: str
    score: float
    words: frozenset[str]
    lead: tuple[int, int] | None = None  # the sentence before, quoted with it when dangling
    follow: tuple[tuple[int, int], ...] = ()  # the list a sentence ending in ":" introduces

    @cached_property
    def length(self) -> int:
        return len(self.text.split())

    @cached_property
    def quote(self) -> str:
        return clean_sentence(self.text)


@dataclass(frozen=True)
class Answer:
    """The answer text with its [n] markers, the citations, and what it quotes where."""

    text: str
    citations: tuple[dict[str, Any], ...]
    quoted: tuple[tuple[int, tuple[int, int]], ...]  # (source rank, span in its text)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "citations": list(self.citations)}



def candidates(question: str, hits: list[Hit], scorer: AnswerScorer | None = None
               ) -> list[Sentence]:
    """Every quotable sentence of the top passages, scored against the question by the
    hand-set formula, or by `scorer` when one is given (sentence_scorer.py)."""
    sentences, table = candidate_rows(question, hits)
    scored = [replace(s, score=v) for s, v in zip(sentences, scores(table, scorer), strict=True)]
    return sorted(scored, key=lambda s: -s.score)


def candidate_rows(question: str, hits: list[Hit]) -> tuple[list[Sentence], np.ndarray]:
    """Every quotable sentence of the top passages (unscored) and its row of the
    sentence_scorer.FEATURES."""
    asked = query_terms(question)
    kind = question_type(question)
    named = name_phrases(question)
    statements = [(similarity - RANK_PENALTY * (hit.rank - 1), similarity, hit, span)
                  for hit in hits[:PASSAGES] for span, similarity in hit.sentences
                  if is_statement(text := hit.text[span[0]:span[1]]) or
                  names_asked(kind, named, text)]
    # the answering sentence is nearly always among the closest by meaning alone, and
    # scoring the rest would cost more time than it wins answers
    statements.sort(key=lambda item: -item[0])
    raw = []
    order = {hit.rank: sorted(span for span, _ in hit.sentences) for hit in hits[:PASSAGES]}
    for _, similarity, hit, span in statements[:SHORTLIST]:
        spans = order[hit.rank]
        text = hit.text[span[0]:span[1]]
        position = spans.index(span)
        lead = spans[position - 1] if position else None
        follow = list_items(hit, spans, span) if text.rstrip().endswith(":") else ()
        where = position / max(len(spans) - 1, 1)
        raw.append((hit, span, similarity, text, terms(text), lead, follow, where))
    # terms in every candidate (the place, the topic) say little about which one answers
    roots = {t: root(t) for t in asked}
    credits = [term_credits(item[4], roots) for item in raw]
    frequency = {t: sum(credit[t] > 0 for credit in credits) for t in asked}
    weight = {t: math.log(1 + len(raw) / (1 + n)) for t, n in frequency.items()}
    total = sum(weight.values()) or 1.0
    sentences, rows = [], []
    for item, credit in zip(raw, credits, strict=True):
        hit, span, similarity, text, words, lead, follow, where = item
        length = len(text.split())
        lead_text = hit.text[lead[0]:lead[1]] if lead else ""
        if lead_text and (is_dangling(text) or continues(text, lead_text)):
            # quoted after the sentence it leans on, so that sentence's terms count too
            # ("... avoid identification bias. This term describes ..."), and its words
            credit = term_credits(words | terms(lead_text), roots)
            length += len(lead_text.split())
        overlap = sum(w * credit[t] for t, w in weight.items()) / total
        typed = 1.0 if holds_answer(kind, text) else 0.0
        # a long sentence spends the word budget that two short answers could share
        long = max(0, length - SHORT_SENTENCE) / SHORT_SENTENCE
        rows.append((similarity, overlap, typed, hit.rank - 1, long, where,
                     1.0 if DIGIT.search(text) else 0.0, hit.score))
        sentences.append(Sentence(hit.rank, span, text, 0.0, words, lead, follow))
    return sentences, np.array(rows, dtype=np.float64).reshape(-1, len(FEATURES))


def names_asked(kind: str | None, named: list[str], text: str) -> bool:
    """A name line answers "who", and "did Suffolk County Council take part" when it holds
    the name the question gives ("Public Health Suffolk, Suffolk County Council"); a
    signature line sharing topic words ("Planned Care Programme Lead") answers neither."""
    if not is_name_line(text):
        return False
    if kind == "who":
        return True
    analysed = f" {index_terms(text)} " if named else ""  # analysed once, not per name
    return any(f" {name} " in analysed for name in named)


def term_credits(words: frozenset[str], roots: dict[str, str | None]) -> dict[str, float]:
    """For each question term, 1 when the sentence holds it and ROOT_CREDIT when it holds
    only a word of the same root ("closure" for "close", "compliant" for "compliance"):
    the search's stemmer joins neither pair, and full credit lifts unrelated sentences."""
    joined = " " + " ".join(words)  # one substring search per root, not one per word
    return {t: 1.0 if t in words else ROOT_CREDIT if r and " " + r in joined else 0.0
            for t, r in roots.items()}


def list_items(hit: Hit, spans: list[tuple[int, int]], span: tuple[int, int]
               ) -> tuple[tuple[int, int], ...]:
    """The first items of the list a sentence ending in ":" introduces."""
    following = spans[spans.index(span) + 1:][:LIST_ITEMS]
    items: list[tuple[int, int]] = []
    for item in following:
        if items and not BULLET.match(hit.text[item[0]:item[1]]):
            break
        items.append(item)
    return tuple(items)


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard overlap of two sentences' terms."""
    return len(a & b) / len(a | b) if a and b else 0.0


def most_marginal(pool: list[Sentence], chosen: list[Sentence]) -> Sentence:
    """The sentence with the best score less its overlap with those chosen (MMR). The
    pool is sorted best first and the penalty never raises a score, so the scan stops early."""
    best, best_value = pool[0], -math.inf
    for sentence in pool:
        if sentence.score <= best_value:
            break
        value = sentence.score - REDUNDANCY * max(
            (overlap(sentence.words, c.words) for c in chosen), default=0.0)
        if value > best_value:
            best, best_value = sentence, value
    return best


def with_lead(sentence: Sentence, hits: list[Hit]) -> list[Sentence] | None:
    """The sentence as it can be quoted: alone, after the sentence it leans on, or not at all."""
    span = sentence.lead
    text = hits[sentence.rank - 1].text[span[0]:span[1]] if span else ""
    if not is_dangling(sentence.text) and not (text and continues(sentence.text, text)):
        return [sentence]
    if span is None or is_dangling(text) or len(text.split()) < 4:
        return None  # what it leans on opens no passage shown, or is no sentence
    lead = Sentence(sentence.rank, span, text, sentence.score, terms(text))
    return [lead, sentence]


def with_list(unit: list[Sentence], hits: list[Hit]) -> list[list[Sentence]]:
    """A sentence that introduces a list is quoted with its first items, as many as fit
    (longest first), or not at all: "consider an SGLT2 inhibitor if:" answers nothing."""
    last = unit[-1]
    if not last.follow:
        return [unit]
    text = hits[last.rank - 1].text
    items = [Sentence(last.rank, span, text[span[0]:span[1]], last.score,
                      terms(text[span[0]:span[1]])) for span in last.follow]
    return [unit + items[:n] for n in range(len(items), 0, -1)]


def select(pool: list[Sentence], hits: list[Hit]) -> list[Sentence]:
    """The best sentences within the word budget, near-repeats left out (MMR)."""
    if not pool:
        return []
    first = next((s for s in pool if s.rank == hits[0].rank), None)
    opening = first if first is not None and pool[0].score < first.score + CLEAR_WIN \
        else pool[0]
    chosen: list[Sentence] = []
    seen: set[str] = set()
    best = opening.score

    def add(unit: list[Sentence]) -> bool:
        fresh = [s for s in unit if s.quote not in seen]
        words = sum(s.length for s in chosen) + sum(s.length for s in fresh)
        # a sentence whose lead is quoted already finishes that thought: it may run over
        budget = WORD_BUDGET + (COMPLETION_SLACK if len(fresh) < len(unit) else 0)
        # one sentence may run over the budget on its own, never a group of them
        if (chosen or len(fresh) > 1) and (words > budget or
                                           len(chosen) + len(fresh) > MAX_SENTENCES):
            return False
        chosen.extend(fresh)
        seen.update(s.quote for s in fresh)
        return True

    def add_any(unit: list[Sentence] | None) -> bool:
        return unit is not None and any(add(option) for option in with_list(unit, hits))

    remaining = [s for s in pool if s is not opening]
    if not add_any(with_lead(opening, hits)):
        remaining = pool
    while len(chosen) < MAX_SENTENCES:
        room = WORD_BUDGET - sum(s.length for s in chosen)
        # what cannot fit any more is never worth scoring again
        remaining = [s for s in remaining if s.length <= room + COMPLETION_SLACK or not chosen]
        if not remaining:
            break
        pick = most_marginal(remaining, chosen)
        remaining.remove(pick)
        if len(chosen) >= MIN_SENTENCES and pick.score < best * RELEVANCE_FLOOR:
            break
        if pick.quote in seen or \
                any(overlap(pick.words, c.words) > NEAR_DUPLICATE for c in chosen):
            continue
        if not chosen:
            best = pick.score
        add_any(with_lead(pick, hits))
    return sorted(chosen, key=lambda s: (s.rank, s.span))


def extractive_answer(question: str, hits: list[Hit], scorer: AnswerScorer | None = None
                      ) -> Answer:
    """The sentences of the top passages that best answer the question, each followed
    by its [n] marker, in source order and within about WORD_BUDGET words."""
    chosen = select(candidates(question, hits, scorer), hits)
    # marker n always means results[n - 1], so a client needs no mapping table
    parts, citations, cited = [], [], set()
    for sentence in chosen:
        if sentence.rank not in cited:
            cited.add(sentence.rank)
            hit = hits[sentence.rank - 1]
            citations.append({"marker": hit.rank, "rank": hit.rank, "chunk_id": hit.chunk_id,
                              "document_id": hit.document.id, "page": hit.page,
                              "citation": hit.citation})
        parts.append(f"{sentence.quote} [{sentence.rank}]")
    return Answer(" ".join(parts), tuple(citations),
                  tuple((s.rank, s.span) for s in chosen))


def highlight_quoted(hits: list[Hit], answer: Answer) -> list[Hit]:
    """The hits with each cited source's highlight set to the sentences the answer quotes,
    so the card shows the same sentence the answer does."""
    quoted: dict[int, list[tuple[int, int]]] = {}
    for rank, span in answer.quoted:
        quoted.setdefault(rank, []).append(span)
    return [replace(hit, highlights=tuple(sorted(quoted[hit.rank]))) if hit.rank in quoted
            else hit for hit in hits]
