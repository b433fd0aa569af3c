"""Plain text and Markdown, with optional YAML front matter and form-feed pages."""

from __future__ import annotations

from pathlib import Path

import yaml

from service.indexing.documents import Document, DocumentMeta, Page, ReadError
from service.indexing.readers.boilerplate import is_boilerplate
from service.indexing.readers.paragraphs import blocks_from_lines, looks_hard_wrapped

FRONT_MATTER_KEYS = ("title", "source_url", "area", "published", "publisher", "type")


def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else cp1252 if it decodes; anything else is refused."""
    if b"\x00" in raw[:4096]:
        raise ReadError("binary content in a text file (NUL bytes); is it really text?")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError as error:
        raise ReadError(f"undecodable text: not UTF-8 or Windows-1252 ({error.reason})") from None
    return text


def split_front_matter(text: str) -> tuple[DocumentMeta, str, list[str]]:
    """Separate a leading `---` YAML block; bad YAML is a warning, not a failure."""
    meta, warnings = DocumentMeta(), list[str]()
    if not text.startswith("---"):
        return meta, text, warnings
    end = text.find("\n---", 3)
    if end == -1:
        return meta, text, warnings
    header, body = text[3:end], text[end + 4 :].lstrip("-").lstrip("\n")
    try:
        values = yaml.safe_load(header) or {}
    except yaml.YAMLError as error:
        warnings.append(f"front matter ignored: invalid YAML ({str(error).splitlines()[0]})")
        return meta, body, warnings
    if not isinstance(values, dict):
        warnings.append("front matter ignored: not a mapping")
        return meta, body, warnings
    for key in FRONT_MATTER_KEYS:
        value = values.get(key)
        if value is not None and str(value).strip():
            setattr(meta, key, str(value).strip())
    return meta, body, warnings


def read_text(path: Path, relative_path: str) -> Document:
    text = decode_text(path.read_bytes())
    meta, body, warnings = split_front_matter(text.replace("\r\n", "\n").replace("\r", "\n"))
    pages = []
    for number, page_text in enumerate(body.split("\f"), start=1):
        lines = [line for line in page_text.split("\n") if not is_boilerplate(line)]
        blocks = blocks_from_lines(lines, wrapped=looks_hard_wrapped(lines))
        pages.append(Page(number=number, blocks=blocks))
    return Document(path=relative_path, pages=pages, meta=meta, warnings=warnings)
