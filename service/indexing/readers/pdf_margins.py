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


def printed_number(text: str) -> int | None:
    """The number a margin line opens or ends with, as a page number would be."""
    match = LEADING_NUMBER.search(text.strip()) or TRAILING_NUMBER.search(text.strip())
    return int(match.group(1)) if match else None


def numbered_slots(pages: list[RawPage], running: set[int]) -> set[tuple[str, int, int]]:
    """(zone, place slot, page minus printed number) of the running lines that carry the
    page's number: where a page-numbered footer or header sits, and how it counts."""
    slots: Counter[tuple[str, int, int]] = Counter()
    for raw in pages:
        for m in margin_lines(raw):
            number = printed_number(m.line.text)
            if id(m.line) in running and number is not None:
                slots[(m.zone, int(m.place // SAME_PLACE), raw.number - number)] += 1
    # a number that keeps no offset from the page (a year in a running title) is no count
    return {slot for slot, pages_alike in slots.items() if pages_alike >= 2}


def in_numbered_slot(m: MarginLine, slots: set[tuple[str, int, int]]) -> bool:
    """A line in a page-numbered footer's place, with this page's number: the footer,
    garbled by a line printed over it (a back cover's copyright over the running title)."""
    number = printed_number(m.line.text)
    slot = int(m.place // SAME_PLACE)
    return number is not None and any((m.zone, near, m.page - number) in slots
                                      for near in (slot - 1, slot, slot + 1))


def drop_running_lines(pages: list[RawPage]) -> None:
    """Remove running headers and footers, page numbers and "Page N of M" lines."""
    running = running_lines(pages)
    slots = numbered_slots(pages, running)
    for raw in pages:
        found = margin_lines(raw)
        running.update(id(m.line) for m in found if in_numbered_slot(m, slots))
        margins = {id(m.line) for m in found}
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
