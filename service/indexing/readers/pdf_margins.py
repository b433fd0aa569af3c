"""Running headers and footers: found by where a line sits and what it says across
pages, removed from the text, and read for printed page numbers."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from service.indexing.readers.pdf_layout import Line, Word

# Headers and footers live in the top and bottom fifth of a page. Word-made footers
# with a registered-office line reach well above the bottom tenth.
MARGIN_BAND = 0.2
SAME_PLACE = 6.0  # points: the same footer drifts this much between pages
SIMILAR = 0.6  # word overlap (Jaccard) for a footer that varies: dates, titles, versions
PAGE_OF = re.compile(r"^\s*page\s+\d+(\s+of\s+\d+)?\s*$", re.IGNORECASE)
LEADING_NUMBER = re.compile(r"^(?:page\s+)?(\d{1,4})\b", re.IGNORECASE)
TRAILING_NUMBER = re.compile(r"\b(\d{1,4})$")


@dataclass
class RawPage:
    number: int
    height: float
    lines: list[Line]
    tables: list[tuple[float, list[str]]]  # (top, rows) in page order
    dropped: list[str] = field(default_factory=list)
    # each table's words in the order of its rows' text (row by row, cell by cell)
    table_words: list[list[Word]] = field(default_factory=list)


def signature(text: str) -> str:
    """Header/footer identity: the same line with its page number varies only in digits."""
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


@dataclass(frozen=True)
class MarginLine:
    page: int
    zone: str  # "top" or "bottom"
    place: float  # distance from the page edge of its zone
    signature: str
    words: frozenset[str]
    line: Line


def margin_lines(raw: RawPage) -> list[MarginLine]:
    found = []
    for line in raw.lines:
        if line.bottom <= raw.height * MARGIN_BAND:
            zone, place = "top", line.top
        elif line.top >= raw.height * (1 - MARGIN_BAND):
            zone, place = "bottom", raw.height - line.bottom
        else:
            continue
        sig = signature(line.text)
        found.append(MarginLine(raw.number, zone, place, sig, frozenset(sig.split()), line))
    return found


def similar(a: MarginLine, b: MarginLine) -> bool:
    if min(len(a.words), len(b.words)) < 3:  # two short lines share words by chance
        return False
    return len(a.words & b.words) >= SIMILAR * len(a.words | b.words)


def running_lines(pages: list[RawPage]) -> set[int]:
    """ids of the margin lines that recur on enough pages to be running headers or
    footers: the same words modulo digits anywhere in the same margin, or near enough
    the same words in the same place."""
    threshold = max(3, int(0.5 * len(pages)))
    candidates = [m for raw in pages for m in margin_lines(raw)]
    same_words: dict[tuple[str, str], set[int]] = defaultdict(set)
    places: dict[tuple[str, int], list[MarginLine]] = defaultdict(list)
    for m in candidates:
        same_words[(m.zone, m.signature)].add(m.page)
        places[(m.zone, int(m.place // SAME_PLACE))].append(m)
    running = set()
    for m in candidates:
        pages_alike = set(same_words[(m.zone, m.signature)])
        if len(pages_alike) < threshold:
            slot = int(m.place // SAME_PLACE)
            for near in (slot - 1, slot, slot + 1):
                pages_alike.update(other.page for other in places.get((m.zone, near), ())
                                   if abs(other.place - m.place) <= SAME_PLACE
                                   and similar(m, other))
        if len(pages_alike) >= threshold:
            running.add(id(m.line))
    return running


def drop_running_lines(pages: list[RawPage]) -> None:
    """Remove running headers and footers, page numbers and "Page N of M" lines."""
    running = running_lines(pages)
    for raw in pages:
        margins = {id(m.line) for m in margin_lines(raw)}
        kept = []
        for line in raw.lines:
            text = line.text.strip()
            bare_number = id(line) in margins and re.fullmatch(r"\d{1,4}", text) is not None
            if id(line) in running or bare_number or PAGE_OF.match(text):
                raw.dropped.append(text)
            else:
                kept.append(line)
        raw.lines = kept


def printed_labels(pages: list[RawPage]) -> dict[int, str]:
    """Printed page numbers read off dropped headers/footers, trusted only when they
    keep a constant offset from the physical page number on most pages."""
    found: dict[int, set[int]] = {}  # a footer may hold a date and a version as well
    for raw in pages:
        numbers = set()
        for text in raw.dropped:
            for pattern in (LEADING_NUMBER, TRAILING_NUMBER):
                match = pattern.search(text.strip())
                if match:
                    numbers.add(int(match.group(1)))
        if numbers:
            found[raw.number] = numbers
    if not found:
        return {}
    offsets = Counter(offset for number, printed in found.items()
                      for offset in {number - p for p in printed})
    offset, votes = offsets.most_common(1)[0]
    if votes < max(2, 0.6 * len(found)):
        return {}
    return {number: str(number - offset) for number, printed in found.items()
            if number - offset in printed}
