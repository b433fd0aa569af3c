"""Compare: one question answered side by side, one column per area (or per document),
each with its own verdict, quoted answer and sources. A column is the chat's answer
restricted to its area or document; an area with no documents says so in its own column
while the others answer. "compare Gloucestershire and Staffordshire urgent care" typed
as a question is read here too (its areas found by the gazetteer)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from service.areas import Gazetteer
from service.retrieval import budget
from service.retrieval.answer import Answer, highlight_quoted
from service.retrieval.chat import SearchesIndex, verdict_answer
from service.retrieval.coverage import Coverage, plural
from service.retrieval.options import Filters, InvalidQuery
from service.retrieval.results import Hit
from service.retrieval.search import Searcher
from service.text import strip_places

NO_FILTERS = Filters()
MAX_COLUMNS = 6  # each column is a whole search: more would not fit a screen or a budget
COMPARE_WORD = re.compile(r"^\s*(?:please\s+)?compare\b[\s,:]*", re.IGNORECASE)
# words left over at either end once the places are taken out:
# "compare X and Y on urgent care" -> "and on urgent care" -> "urgent care"
JOINERS = frozenset({"and", "&", "with", "vs", "versus", "against", "between", "to", "on",
                     "for", "about", "in", "of", "across", "compared"})
PUNCTUATION = ",;:?.!"


class InvalidCompare(InvalidQuery):
    """A compare request the caller must fix; `field` names the parameter."""

    code = "invalid_compare"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CompareQuestion:
    """What a typed "compare ..." question asks: the topic and the areas, in order."""

    topic: str
    areas: tuple[str, ...]


def read_compare_question(question: str, gazetteer: Gazetteer) -> CompareQuestion | None:
    """ "compare Gloucestershire and Staffordshire urgent care" -> the topic "urgent care"
    and both areas; None unless it starts with "compare" and names two areas or more."""
    if not COMPARE_WORD.match(question):
        return None
    areas = tuple(dict.fromkeys(m.area for m in gazetteer.find_mentions(question)))
    if len(areas) < 2:
        return None
    return CompareQuestion(compare_topic(question, gazetteer), areas)


def compare_topic(question: str, gazetteer: Gazetteer) -> str:
    """The question without "compare", its places and the words that joined them."""
    words = strip_places(COMPARE_WORD.sub("", question), gazetteer).split()

    def joiner(word: str) -> bool:
        bare = word.strip(PUNCTUATION).lower()
        return not bare or bare in JOINERS

    while words and joiner(words[0]):
        words.pop(0)
    while words and joiner(words[-1]):
        words.pop()
    if words:
        words[-1] = words[-1].rstrip(PUNCTUATION)
    return " ".join(words)


@dataclass(frozen=True)
class Column:
    """One column: an area (or a document) and its own verdict, answer and sources."""

    kind: str  # "area" or "document"
    key: str  # the area's name, or the document's id
    title: str  # what the column is headed with
    coverage: Coverage
    answer: Answer
    hits: tuple[Hit, ...]


def resolve_areas(names: list[str], searcher: Searcher, gazetteer: Gazetteer
                  ) -> tuple[str, ...]:
    """The areas as the index and gazetteer name them; an unknown one is an error
    naming `areas`. An area with no documents is fine: its column says so."""
    resolved = []
    for name in names:
        area = name if name in searcher.areas else gazetteer.canonical(name)
        if area is None:
            raise InvalidCompare(f"areas: {name!r} is not an area Plansearch knows; use an "
                                 "ICS name such as 'Gloucestershire'", "areas")
        if area in resolved:
            raise InvalidCompare(f"areas names {area!r} twice", "areas")
        resolved.append(area)
    return tuple(resolved)


def check_count(values: list[str], field: str) -> None:
    if not 2 <= len(values) <= MAX_COLUMNS:
        raise InvalidCompare(f"{field} must list between 2 and {MAX_COLUMNS} "
                             f"{'areas' if field == 'areas' else 'documents'} "
                             f"(got {len(values)})", field)


def area_column(searcher: Searcher, topic: str, area: str, k: int, mode: str,
                filters: Filters) -> Column:
    documents = sum(d.area == area for d in searcher.documents.values())
    if documents == 0:
        message = f"No documents about {area} are indexed, so this column has no answer."
        return Column("area", area, area, Coverage("not_found", message, area, 0),
                      Answer(message, (), ()), ())
    column = answer_within(searcher, topic, replace(filters, areas=(area,)), k, mode)
    coverage = column.coverage
    if coverage.status == "not_found":
        their = "its" if documents == 1 else "their"
        coverage = Coverage("not_found", f"{area} has {plural(documents, 'document')}; none "
                            f"of {their} passages is a close match for '{topic}'. The "
                            "closest are listed below.", area, documents)
    elif coverage.status == "weak":
        coverage = Coverage("weak", f"{area}: {coverage.message}", area, documents)
    else:
        coverage = Coverage("answered", None, area, documents)
    answer = Answer(coverage.message or "", (), ()) if coverage.status == "not_found" \
        else column.answer
    return replace(column, kind="area", key=area, title=area, coverage=coverage,
                   answer=answer)


def answer_within(searcher: Searcher, topic: str, filters: Filters, k: int, mode: str
                  ) -> Column:
    """The chat's answer to `topic` searched within `filters`."""
    result = searcher.search(topic, k, mode, filters)
    budget.checkpoint("a compare column")
    answer = verdict_answer(topic, result.hits, result.coverage)
    hits = tuple(highlight_quoted(result.hits, answer))
    coverage = result.coverage or Coverage("answered", None)
    return Column("", "", "", coverage, answer, hits)


def compare(live: SearchesIndex, topic: str, areas: list[str] | None = None,
            documents: list[str] | None = None, k: int = 5, mode: str = "hybrid",
            filters: Filters = NO_FILTERS) -> list[Column]:
    """One column per area (or document), in the order asked, all from one generation."""
    if (areas is None) == (documents is None):
        raise InvalidCompare("give either areas or documents to compare", "areas")
    if filters.areas and areas:
        raise InvalidCompare("filters.area cannot be combined with areas: each column is "
                             "one area", "filters")

    def columns(searcher: Searcher) -> list[Column]:
        if areas is not None:
            check_count(areas, "areas")
            resolved = resolve_areas(areas, searcher, live.gazetteer)
            return [area_column(searcher, topic, area, k, mode, filters) for area in resolved]
        assert documents is not None
        check_count(documents, "documents")
        return [document_column(searcher, topic, doc, k, mode, filters) for doc in documents]

    return live.answer(columns)


def document_column(searcher: Searcher, topic: str, doc_id: str, k: int, mode: str,
                    filters: Filters) -> Column:
    document = searcher.documents.get(doc_id)
    if document is None:
        raise InvalidCompare(f"documents: no document with id {doc_id!r}; see "
                             "/api/documents for document ids", "documents")
    column = answer_within(searcher, topic, replace(filters, documents=(doc_id,)), k, mode)
    return replace(column, kind="document", key=doc_id, title=document.title)


__all__ = ["MAX_COLUMNS", "Column", "CompareQuestion", "InvalidCompare", "compare",
           "compare_topic", "read_compare_question"]
