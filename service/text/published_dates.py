"""A document's `published` text read as a date: "2019-09-26", "26 September 2019",
"September 2019", "2019/20", "reviewed 14 October 2024", "2016". The raw text stays
what citations show; the date is what filters, sorting and the year facet use.

A date given only to the month reads as its first day, a bare year as 1 January, and a
financial year ("2019/20", "2019-2020") as its first day, 1 April: the NHS plans by
financial year, and its first day is when such a plan takes effect."""

from __future__ import annotations

import re
from datetime import date

MONTHS = {name: number for number, names in enumerate((
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
    ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
    ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
    ("december", "dec")), start=1) for name in names}
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
# most specific first: the first pattern that matches anywhere in the text wins
PATTERNS = [
    re.compile(rf"\b{_YEAR}-(?P<mon>[01]\d)-(?P<day>[0-3]\d)\b"),  # ISO 8601
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.IGNORECASE),  # September 26, 2019
    re.compile(r"\b(?P<day>[0-3]?\d)[/.](?P<mon>[01]?\d)[/.](?P<year>(?:19|20)\d\d)\b"),  # UK
    re.compile(rf"\b{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b{_YEAR}-(?P<mon>[01]\d)\b(?!\d)"),  # 2019-09; not 2019-20
    # a financial year: 2019/20, 2019-20, 2019/2020, 2019 to 2020
    re.compile(r"\b(?P<fy>(?:19|20)\d\d)\s*(?:/|-|\u2013|to)\s*(?P<next>(?:19|20)?\d\d)\b"),
    re.compile(rf"\b{_YEAR}\b"),
]


def parse_published(text: str | None) -> date | None:
    """The date the text states, or None when it states none that exists."""
    if not text:
        return None
    for pattern in PATTERNS:
        for found in pattern.finditer(text):
            parsed = _date_of(found.groupdict())
            if parsed is not None:
                return parsed
    return None


def _date_of(parts: dict[str, str | None]) -> date | None:
    if parts.get("fy"):
        start, following = int(parts["fy"] or 0), parts["next"] or ""
        if int(following[-2:]) != (start + 1) % 100:
            return None  # "2019-24" is a span of years, not one financial year
        return date(start, 4, 1)
    month = parts.get("mon") or parts.get("month")
    number = int(month) if month and month.isdigit() else MONTHS.get((month or "").lower(), 1)
    try:
        return date(int(parts["year"] or 0), number, int(parts.get("day") or 1))
    except ValueError:  # 31 February, month 13
        return None


def parse_bound(text: str, end: bool) -> date | None:
    """A filter's bound: a year (2019), a month (2019-09) or a day (2019-09-26). The end
    of a range reaches the last day of the year or month it names. None: it doesn't
    parse."""
    text = text.strip()
    if re.fullmatch(r"(?:19|20)\d\d", text):
        return date(int(text), 12, 31) if end else date(int(text), 1, 1)
    month = re.fullmatch(r"((?:19|20)\d\d)-([01]\d)", text)
    if month:
        year, number = int(month[1]), int(month[2])
        if not 1 <= number <= 12:
            return None
        if not end:
            return date(year, number, 1)
        following = date(year + number // 12, number % 12 + 1, 1)
        return date.fromordinal(following.toordinal() - 1)
    if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    return None
