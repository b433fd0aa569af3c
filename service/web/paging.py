"""Paging for lists (issue 28): `limit` and an opaque `cursor` in, `next_cursor` out
(null on the last page). A cursor is base64url JSON naming its list, so one list's
cursor is refused by another; it carries only where the next page starts."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from flask import request

from service.web.errors import ApiError

DEFAULT_LIMIT, MAX_PAGE = 50, 500
MAX_RESULTS = 100  # k + offset: how deep a search pages through its results


def page_limit(default: int = DEFAULT_LIMIT, largest: int = MAX_PAGE) -> int:
    """The `limit` asked for: a whole number from 1 to `largest`."""
    raw = request.args.get("limit")
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= largest:
        raise ApiError(400, f"limit must be a whole number from 1 to {largest}",
                       "invalid_parameter", "limit")
    return int(raw)


def encode_cursor(listing: str, *position: str | int) -> str:
    """An opaque cursor for `listing` that starts the next page at `position`."""
    raw = json.dumps([listing, *position], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(listing: str, *kinds: type) -> list[Any] | None:
    """The position in the `cursor` parameter, checked against the kinds it must hold;
    None without one. A cursor from another list, or not one at all, is a 400."""
    raw = request.args.get("cursor")
    if raw is None or raw == "":
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error):
        decoded = None
    if not isinstance(decoded, list) or len(decoded) != len(kinds) + 1 \
            or decoded[0] != listing or not all(
                isinstance(value, kind) and not isinstance(value, bool)
                and not (isinstance(value, int) and value < 0)
                for value, kind in zip(decoded[1:], kinds, strict=True)):
        raise ApiError(400, f"cursor is not a cursor of this list: pass back the "
                            f"next_cursor of the previous page of {listing}",
                       "invalid_parameter", "cursor")
    return decoded[1:]
