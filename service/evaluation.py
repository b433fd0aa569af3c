"""Retrieval evaluation: passage-level hit@1, hit@5, MRR@10 and document recall@5 for
each search mode over a JSONL question set; and answer recall: how often the chat
answer quotes the question's answer span."""

from __future__ import annotations

import hashlib
import json
import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.areas import Gazetteer
from service.embedding.models import Embedder
from service.indexing.build import build_index
from service.retrieval.chat import OneSearcher, Turn, answer
from service.retrieval.options import Filters
from service.retrieval.search import DEFAULT_MODE, Searcher, SearchOptions
from service.store import open_store


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    relevant: tuple[str, ...]
    answer_hint: str
    tags: tuple[str, ...] = ()
    page: int | None = None  # for PDFs: the physical page that holds the hint


@dataclass
class ModeScore:
    mode: str
    hit1: float = 0.0
    hit5: float = 0.0
    mrr10: float = 0.0
    doc_recall5: float = 0.0
    pages_checked: int = 0  # hits on a question that names its page
    pages_right: int = 0  # of those, hits whose pages include it
    pages_opened: int = 0  # of those, hits whose link opens that very page
    misses: list[dict[str, Any]] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {"mode": self.mode, "hit@1": round(self.hit1, 4), "hit@5": round(self.hit5, 4),
                "mrr@10": round(self.mrr10, 4), "doc_recall@5": round(self.doc_recall5, 4)}


def question_from(item: dict[str, Any]) -> Question:
    """One line of either format: the project's (`relevant`, `tags`) or a development
    set's (`file` and `page`, with its `kind` as the one tag)."""
    relevant = item["relevant"] if "relevant" in item else [item["file"]]
    tags = item.get("tags") or ([item["kind"]] if item.get("kind") else [])
    return Question(item["id"], item["question"], tuple(relevant), item["answer_hint"],
                    tuple(tags), item.get("page"))


def load_questions(path: Path) -> list[Question]:
    return [question_from(json.loads(line))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def collapse(text: str) -> str:
    return " ".join(text.lower().split())


def is_hit(question: Question, path: str, text: str) -> bool:
    return Path(path).name in question.relevant and collapse(question.answer_hint) in collapse(text)


def sync_corpus(sources: list[Path], target: Path, exclude: tuple[str, ...] = ()) -> None:
    """Mirror several corpus folders into one (copies; the builder ignores symlinks),
    leaving out files whose names match an `exclude` glob."""
    target.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, Path] = {}
    for source in sources:
        for path in sorted(source.rglob("*")):
            hidden = any(p.startswith(".") for p in path.relative_to(source).parts)
            if path.is_file() and not hidden and not any(path.match(g) for g in exclude):
                wanted[path.relative_to(source).as_posix()] = path
    for existing in list(target.rglob("*")):
        relative = existing.relative_to(target).as_posix()
        if existing.is_file() and relative not in wanted:
            existing.unlink()
    for relative, path in wanted.items():
        destination = target / relative
        if not destination.exists() or destination.read_bytes() != path.read_bytes():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)


def prepare_searcher(corpora: list[Path], workdir: Path, embedder: Embedder,
                     exclude: tuple[str, ...] = (), store_url: str = "") -> Searcher:
    """Index the corpora in `workdir` (on the embedded store, or the Milvus at
    `store_url`) and search the result."""
    corpus = workdir / "corpus"
    sync_corpus(corpora, corpus, exclude)
    store = open_store(workdir / "index", {"STORE": store_url})
    report = build_index(corpus, store, embedder)
    assert report.generation is not None
    return Searcher(store.open(report.generation), embedder, Gazetteer.load())


def evaluate(searcher: Searcher, questions: list[Question], mode: str,
             options: SearchOptions | None = None, label: str | None = None) -> ModeScore:
    score = ModeScore(label or mode)
    for question in questions:
        # highlighted as served: the link opens the page of the highlighted sentence
        result = searcher.search(question.question, k=10, mode=mode, options=options)
        found = [hit for hit in result.hits if is_hit(question, hit.document.path, hit.text)]
        first = found[0].rank if found else None
        if found and question.page is not None:  # does the citation send staff to the page?
            score.pages_checked += 1
            score.pages_right += found[0].page <= question.page <= found[0].page_end
            score.pages_opened += found[0].highlight_page == question.page
        score.hit1 += first == 1
        score.hit5 += first is not None and first <= 5
        score.mrr10 += 1.0 / first if first else 0.0
        top5_docs = {Path(hit.document.path).name for hit in result.hits[:5]}
        score.doc_recall5 += len(top5_docs & set(question.relevant)) / len(question.relevant)
        if first != 1:
            score.misses.append({
                "id": question.id, "question": question.question, "rank": first,
                "hint": question.answer_hint, "interpreted": result.interpreted,
                "top": [f"{Path(h.document.path).name} p{h.page}: {collapse(h.text)[:90]}"
                        for h in result.hits[:3]]})
    count = max(len(questions), 1)
    score.hit1, score.hit5 = score.hit1 / count, score.hit5 / count
    score.mrr10, score.doc_recall5 = score.mrr10 / count, score.doc_recall5 / count
    return score


def format_table(scores: list[ModeScore], title: str) -> str:
    lines = [title, f"| {'mode':<22} | hit@1 | hit@5 | MRR@10 | doc recall@5 |",
             f"|{'-' * 24}|-------|-------|--------|--------------|"]
    for s in scores:
        lines.append(f"| {s.mode:<22} | {s.hit1:.3f} | {s.hit5:.3f} | {s.mrr10:.4f} | "
                     f"{s.doc_recall5:.3f}        |")
    return "\n".join(lines)


@dataclass(frozen=True)
class AnswerOutcome:
    question: Question
    answered: bool  # the answer contains the span
    shown: bool  # one of the five sources under the answer contains it
    words: int
    text: str

    @property
    def half(self) -> str:
        return question_half(self.question)

    @property
    def source_kind(self) -> str:
        return "pdf" if any(r.lower().endswith(".pdf") for r in self.question.relevant) \
            else "text"


def question_half(question: Question) -> str:
    """A fixed split by a hash of the id: weights are tuned on one half, reported on both."""
    return "tune" if hashlib.sha1(question.id.encode()).digest()[0] % 2 == 0 else "held-out"


def answer_outcomes(searcher: Searcher, questions: list[Question], k: int = 5
                    ) -> list[AnswerOutcome]:
    """Ask each question as a one-turn chat through the function POST /api/chat calls,
    with its defaults: the coverage verdict may withhold the quotes, and passages from
    another area than the one the question names are shown but never quoted."""
    outcomes = []
    for question in questions:
        chat = answer(OneSearcher(searcher), [Turn("user", question.question)], k,
                      DEFAULT_MODE, Filters())
        hits, text = chat.search_result.hits, chat.answer.text
        outcomes.append(AnswerOutcome(
            question, collapse(question.answer_hint) in collapse(text),
            any(is_hit(question, hit.document.path, hit.text) for hit in hits[:5]),
            len(text.split()), text))
    return outcomes


def answer_row(label: str, outcomes: list[AnswerOutcome]) -> dict[str, Any]:
    shown = [o for o in outcomes if o.shown]
    count = max(len(outcomes), 1)
    return {"part": label, "questions": len(outcomes),
            "answer_recall": round(sum(o.answered for o in outcomes) / count, 4),
            "sources_recall": round(len(shown) / count, 4),
            "conditional_answer_recall": round(sum(o.answered for o in shown) /
                                               max(len(shown), 1), 4),
            "median_words": statistics.median(o.words for o in outcomes) if outcomes else 0}


def answer_rows(outcomes: list[AnswerOutcome]) -> list[dict[str, Any]]:
    """All questions, each half, and (when the set mixes them) web text and PDF sources."""
    rows = [answer_row("all", outcomes)]
    rows += [answer_row(half, [o for o in outcomes if o.half == half])
             for half in ("tune", "held-out")]
    kinds = sorted({o.source_kind for o in outcomes})
    if len(kinds) > 1:
        rows += [answer_row(f"{kind} sources", [o for o in outcomes if o.source_kind == kind])
                 for kind in kinds]
    return rows


def format_answer_table(rows: list[dict[str, Any]], title: str) -> str:
    lines = [title, "| part           | questions | answer recall | top-5 sources contain "
                    "| conditional | median words |",
             "|----------------|-----------|---------------|-----------------------"
             "|-------------|--------------|"]
    for r in rows:
        lines.append(f"| {r['part']:<14} | {r['questions']:>9} | {r['answer_recall']:>13.3f} | "
                     f"{r['sources_recall']:>21.3f} | {r['conditional_answer_recall']:>11.3f} | "
                     f"{r['median_words']:>12.1f} |")
    return "\n".join(lines)
