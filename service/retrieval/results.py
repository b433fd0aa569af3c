"""The one result type. The JSON API, the chat answer, the evaluator and the HTML page
all render these objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from service.retrieval.coverage import Coverage
from service.retrieval.doubt import ListSignals


@dataclass(frozen=True)
class DocumentRef:
    id: str
    title: str
    area: str | None
    path: str  # relative to the corpus
    source_url: str | None
    published: str | None = None  # as the document states it
    publisher: str | None = None
    doc_type: str | None = None  # plan, bulletin, case study, news item
    published_date: date | None = None  # `published` read as a date, when it states one

    @property
    def is_pdf(self) -> bool:
        return self.path.lower().endswith(".pdf")


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with everything needed to cite it."""

    rank: int
    score: float  # calibrated relevance 0..1, comparable across questions
    text: str
    page: int
    page_end: int
    page_label: str | None
    section: str
    chunk_id: int
    document: DocumentRef
    highlights: tuple[tuple[int, int], ...] = ()
    chunk_ids: tuple[int, ...] = ()  # every chunk merged into this passage
    # (span in text, similarity to the query) for each sentence, best first; not in JSON
    sentences: tuple[tuple[tuple[int, int], float], ...] = ()
    ocr: bool = False  # some of the text was read by OCR from an image of the page
    dense: float | None = None  # cosine to the query, a calibration feature; not in JSON
    other_area: bool = False  # from another area than the one the question names
    # (sentence span, page it is printed on) for a passage over several pages; not in JSON
    span_pages: tuple[tuple[tuple[int, int], int], ...] = ()

    @property
    def highlight_page(self) -> int:
        """The page the first highlighted sentence is printed on: where a passage that
        runs over a page break answers, which need not be the page it starts on."""
        pages = dict(self.span_pages)
        return next((pages[span] for span in self.highlights if span in pages), self.page)

    @property
    def url(self) -> str:
        """Opens the source at this passage: the PDF page view at the page of its
        highlighted sentence (the real page, the passage marked on it), else the reading
        view."""
        chunks = "&".join(f"chunk={i}" for i in (self.chunk_ids or (self.chunk_id,)))
        if self.document.is_pdf:
            return f"/documents/{self.document.id}/pdf?page={self.highlight_page}&{chunks}"
        return f"/documents/{self.document.id}?{chunks}#chunk-{self.chunk_id}"

    @property
    def citation(self) -> str:
        pages = f"p.{self.page}" if self.page_end <= self.page else \
            f"pp.{self.page}\u2013{self.page_end}"  # a passage over a page break
        page = pages + (f" (printed {self.page_label})" if self.page_label and
                        self.page_label != str(self.page) else "")
        section = f", §{self.section.split(' > ')[-1]}" if self.section else ""
        stated = ", ".join(part for part in (self.document.publisher, self.document.published)
                           if part)
        return f"{self.document.title}{f' ({stated})' if stated else ''}, {page}{section}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "score": round(self.score, 4),
            "text": self.text,
            "page": self.page,
            "page_end": self.page_end,
            "highlight_page": self.highlight_page,
            "page_label": self.page_label,
            "section": self.section,
            "chunk_id": self.chunk_id,
            "chunk_ids": list(self.chunk_ids or (self.chunk_id,)),
            "highlights": [list(span) for span in self.highlights],
            "document": {"id": self.document.id, "title": self.document.title,
                         "area": self.document.area, "path": self.document.path,
                         "source_url": self.document.source_url,
                         "published": self.document.published,
                         "published_date": self.document.published_date.isoformat()
                         if self.document.published_date else None,
                         "publisher": self.document.publisher,
                         "type": self.document.doc_type},
            "other_area": self.other_area,
            "url": self.url,
            "citation": self.citation,
            "ocr": self.ocr,
        }


@dataclass
class SearchResult:
    query: str
    mode: str
    hits: list[Hit]
    interpreted: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # stage -> milliseconds
    coverage: Coverage | None = None
    # for each of area, type, publisher and year: [{"value", "count"}] (facets.py)
    facets: dict[str, list[dict[str, Any]]] | None = None
    # the result list's signals for the verdict (hybrid only); not in JSON
    signals: ListSignals | None = None
