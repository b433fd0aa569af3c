"""The admin API's form fields: upload metadata, true/false flags, and which of
werkzeug's multipart limits refused an upload, each with a message naming what to change."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from service.web.errors import ApiError
from service.web.renames import OLD, field_out, kind_name

META_LIMITS = {"title": 300, "area": 120, "source_url": 2000, "publisher": 200,
               "published": 40, "type": 40}
# where werkzeug 3.1 raises RequestEntityTooLarge for each of its multipart limits
FIELD_TOO_LARGE = {("multipart.py", "receive_data"), ("formparser.py", "parse")}
TOO_MANY_PARTS = {("multipart.py", "next_event")}
TRUE, FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


def too_large_message(error: RequestEntityTooLarge, limit_mb: int) -> str:
    """Which of werkzeug's three form limits refused the upload. It raises the same bare
    exception for each, so the function that raised it tells them apart."""
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    code = frame.tb_frame.f_code if frame is not None else None
    raised_in = (Path(code.co_filename).name, code.co_name) if code else ("", "")
    if raised_in in FIELD_TOO_LARGE and request.max_form_memory_size is not None:
        return (f"a form field is larger than {request.max_form_memory_size:,} bytes; only "
                "file parts may be that large (title, area and source_url are short); "
                "nothing was written")
    if raised_in in TOO_MANY_PARTS and request.max_form_parts is not None:
        return (f"more than {request.max_form_parts:,} parts (files and fields) in one "
                "upload; send the files in several requests; nothing was written")
    return f"upload larger than {limit_mb} MiB (PLANSEARCH_MAX_UPLOAD_MB); nothing was written"


def upload_metadata(form: MultiDict[str, str], file_count: int) -> dict[str, str]:
    """The metadata fields, keyed as the sidecar stores them (the kind as `type`)."""
    if kind_name() != OLD and form.get(OLD):
        raise ApiError(400, "on /api/v1 the document's kind is the `kind` field, not `type`",
                       "invalid_metadata", OLD)
    meta = {}
    for key, limit in META_LIMITS.items():
        value = " ".join((form.get(kind_name() if key == OLD else key) or "").split())
        if len(value) > limit:
            raise ApiError(400, f"{field_out(key)} must be at most {limit} characters",
                           "invalid_metadata")
        if value:
            meta[key] = value
    if "title" in meta and file_count > 1:
        raise ApiError(400, "title applies to one file; upload the files separately",
                       "invalid_metadata")
    url = urlsplit(meta.get("source_url", "https://x"))
    if url.scheme not in {"http", "https"} or not url.netloc:
        raise ApiError(400, "source_url must be an http:// or https:// address",
                       "invalid_metadata")
    return meta


def flag(value: Any, name: str) -> bool:
    text = str(value if value is not None else "").strip().lower()
    if isinstance(value, bool):
        return value
    if text not in TRUE | FALSE:
        raise ApiError(400, f"{name} must be true or false", "invalid_parameter")
    return text in TRUE
