"""A document's `published` text read as a date (issue 26), and the bounds a filter
takes."""

from __future__ import annotations

from datetime import date

import pytest

from service.text.published_dates import parse_bound, parse_published


@pytest.mark.parametrize(("text", "expected"), [
    ("2019-09-26", date(2019, 9, 26)),
    ("26 September 2019", date(2019, 9, 26)),
    ("26th of September 2019", date(2019, 9, 26)),
    ("September 26, 2019", date(2019, 9, 26)),
    ("26/09/2019", date(2019, 9, 26)),
    ("September 2019", date(2019, 9, 1)),
    ("Sept. 2019", date(2019, 9, 1)),
    ("2019-09", date(2019, 9, 1)),
    ("2019/20", date(2019, 4, 1)),  # a financial year starts on 1 April
    ("2019-2020", date(2019, 4, 1)),
    ("2019 to 2020", date(2019, 4, 1)),
    ("2019/20 – 2023/24", date(2019, 4, 1)),
    ("reviewed 14 October 2024", date(2024, 10, 14)),
    ("Published: March 2016 (refreshed 2017)", date(2016, 3, 1)),
    ("2016", date(2016, 1, 1)),
    ("Five year plan 2019-24", date(2019, 1, 1)),  # a span of years, not a financial year
    ("31 February 2019", date(2019, 2, 1)),  # no such day: the month still stands
])
def test_published_text_reads_as_a_date(text: str, expected: date) -> None:
    assert parse_published(text) == expected


@pytest.mark.parametrize("text", [None, "", "undated", "draft", "version 3", "1850"])
def test_text_without_a_date_reads_as_none(text: str | None) -> None:
    assert parse_published(text) is None


@pytest.mark.parametrize(("text", "end", "expected"), [
    ("2019", False, date(2019, 1, 1)),
    ("2019", True, date(2019, 12, 31)),
    ("2019-02", False, date(2019, 2, 1)),
    ("2020-02", True, date(2020, 2, 29)),  # a leap year's February
    ("2019-12", True, date(2019, 12, 31)),
    ("2019-09-26", True, date(2019, 9, 26)),
    (" 2019 ", False, date(2019, 1, 1)),
])
def test_filter_bounds(text: str, end: bool, expected: date) -> None:
    assert parse_bound(text, end) == expected


@pytest.mark.parametrize("text", ["19", "2019-13", "2019-02-30", "September 2019", "last year",
                                  "2019/20", ""])
def test_bounds_that_do_not_parse(text: str) -> None:
    assert parse_bound(text, end=False) is None
