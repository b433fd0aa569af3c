"""Filters as requests carry them: repeated query parameters (`?area=A&area=B&kind=plan`)
or a JSON `filters` object of strings or lists. Each error names its parameter in the
error's `field`: the filter's own name (`kind`), in a query string or in `filters`.

The document-kind filter is `kind` on /api/v1 and `type` on the unversioned paths (and
the HTML pages' addresses); /api/v1 refuses `type` rather than ignore it."""

from __future__ import annotations

from itertools import zip_longest
from typing import Any

from werkzeug.datastructures import MultiDict

from service.retrieval.options import DateRange, Filters
from service.text.published_dates import parse_bound
from service.web.errors import ApiError
from service.web.renames import OLD, field_out, kind_name

# parameter -> Filters field; published_from/published_to make `published` ranges
LISTS = {"area": "areas", "document": "documents", "type": "types", "publisher": "publishers"}
DATES = ("published_from", "published_to", "year")  # year=2019: published in 2019
KEYS = (*LISTS, *DATES)
MAX_VALUES = 100  # values of one filter parameter


def request_keys() -> tuple[str, ...]:
    """The filter parameters as this request names them (`kind` on /api/v1)."""
    return tuple(kind_name() if key == OLD else key for key in KEYS)


def listed(keys: tuple[str, ...]) -> str:
    return ", ".join(f"'{k}'" for k in keys)


def refuse_old_name(present: bool, prefix: str) -> None:
    """On /api/v1 a `type` filter is a 400, not silently no filter at all."""
    if present and kind_name() != OLD:
        raise ApiError(400, f"{prefix}type is called {prefix}kind on /api/v1 (the "
                            "document's kind: plan, bulletin, ...)", "invalid_filter", OLD)


def filters_from_query(args: MultiDict[str, str]) -> Filters:
    """GET: every filter parameter may repeat."""
    refuse_old_name(OLD in args, "")
    return build({key: args.getlist(name) for key, name in zip(KEYS, request_keys(),
                                                                strict=True)}, prefix="")


def filters_from_body(value: Any) -> Filters:
    """POST: `filters` is an object; each value a string or a list of strings."""
    if value is None:
        return Filters()
    names = request_keys()
    if not isinstance(value, dict):
        raise ApiError(400, f"filters must be an object with optional {listed(names)} lists",
                       "invalid_filter", "filters")
    refuse_old_name(OLD in value, "filters.")
    unknown = set(value) - set(names)
    if unknown:
        name = sorted(unknown)[0]
        raise ApiError(400, f"unknown filter {name!r}; use {listed(names)}", "invalid_filter",
                       name)
    lists = {}
    for key, name in zip(KEYS, names, strict=True):
        items = value.get(name) or []
        lists[key] = [items] if isinstance(items, str) else items
    return build(lists, prefix="filters.")


def build(lists: dict[str, Any], prefix: str) -> Filters:
    for key, items in lists.items():
        name = field_out(key)
        if not isinstance(items, list) or not all(
                isinstance(i, str) and i and is_encodable(i) for i in items):
            raise ApiError(400, f"{prefix}{name} must be a list of strings", "invalid_filter",
                           name)
        if len(items) > MAX_VALUES:
            raise ApiError(400, f"{prefix}{name} may hold at most {MAX_VALUES} values",
                           "invalid_filter", name)
    fields = {name: tuple(v.strip() for v in lists[key]) for key, name in LISTS.items()}
    if any(len(y.strip()) != 4 for y in lists["year"]):
        raise ApiError(400, f"{prefix}year must be a year such as 2019", "invalid_filter",
                       "year")
    years = tuple((bound(y, "year", prefix, end=False), bound(y, "year", prefix, end=True))
                  for y in lists["year"])
    return Filters(**fields, published=date_ranges(lists["published_from"],
                                                   lists["published_to"], prefix) + years)


def date_ranges(starts: list[str], ends: list[str], prefix: str) -> tuple[DateRange, ...]:
    """The n-th published_from pairs with the n-th published_to; a missing one is open."""
    ranges = []
    for start, end in zip_longest(starts, ends):
        first = bound(start, "published_from", prefix, end=False)
        last = bound(end, "published_to", prefix, end=True)
        if first and last and first > last:
            raise ApiError(400, f"{prefix}published_from ({start}) is after "
                                f"{prefix}published_to ({end})", "invalid_filter",
                           "published_from")
        ranges.append((first, last))
    return tuple(ranges)


def bound(text: str | None, name: str, prefix: str, end: bool) -> Any:
    if text is None:
        return None
    parsed = parse_bound(text, end)
    if parsed is None:
        raise ApiError(400, f"{prefix}{name} must be a year (2019), a month (2019-09) or a "
                            f"date (2019-09-26); got {text[:40]!r}", "invalid_filter", name)
    return parsed


def is_encodable(text: str) -> bool:
    """False for strings JSON can carry but UTF-8 cannot: lone surrogates such as \\ud800."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
