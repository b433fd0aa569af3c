"""Turn lines of plain text into paragraph and heading blocks.

Shared by the text and PDF readers: both arrive as lines whose paragraph breaks and
headings must be inferred from shape, not markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from service.indexing.documents import Block

BULLET = re.compile(r"^\s*(?:[-*•●▪◦‣∙·]|\(cid:\d+\)|\d{1,2}[.)]\s)\s*")
BULLET_ONLY = re.compile(r"^(?:[-*•●▪◦‣∙·o§]|\(cid:\d+\))$")
MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
NUMBERED_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+([A-Z].{1,100})$")
SECTION_NUMBER_ONLY = re.compile(r"^\d{1,2}(?:\.\d{1,2}){1,3}\.?$")
PAGE_NUMBER_ONLY = re.compile(r"^\d{1,4}$")
SENTENCE_END = re.compile(r"[.!?:;]['\"’”)]?$")
HYPHENATED_BREAK = re.compile(r"(?<=[a-z])-$")
# "Mark Seaton, Programme Lead", "From Halima Rashid, Programme Director": who wrote
# or said it, set on a line of its own like a heading but never one
SIGNATURE = re.compile(
    r"^(?:From\s+)?(?:(?:Dr|Prof|Professor|Cllr|Councillor|Sir|Dame|Mr|Mrs|Ms|Miss)\.?\s+)?"
    r"[A-Z][a-z’'-]+(?:\s+[A-Z][a-z’'-]+){1,2},\s+.*\b(?:Director|Lead|Manager|Officer|"
    r"Chair(?:man|woman)?|Chief|Executive|Head|Consultant|Nurse|GP|Secretary|Minister|"
    r"Leader|Mayor|President|Coordinator|Co-ordinator|Commissioner|Clinician|Adviser|"
    r"Advisor|Member|Partner|Governor|Trustee|Founder|Editor)\b")
CONTACT_LINE = re.compile(r"^(?:tel|telephone|phone|mobile|fax|e-?mail|web(?:site)?)\b|@|www\.|"
                          r"https?://", re.IGNORECASE)


def is_signature(line: str) -> bool:
    return SIGNATURE.match(line.strip()) is not None


def heading_level(line: str) -> int | None:
    """Guess whether a short standalone line is a heading, and its depth."""
    text = line.strip()
    match = MARKDOWN_HEADING.match(text)
    if match:
        return len(match.group(1))
    words = text.split()
    if not words or len(text) > 100 or len(words) > 14 or SENTENCE_END.search(text):
        return None
    if text.endswith(",") or BULLET.match(text) or not (text[0].isupper() or text[0].isdigit()):
        return None
    if is_signature(text) or CONTACT_LINE.search(text):
        return None
    numbered = NUMBERED_HEADING.match(text)
    if numbered:
        return numbered.group(1).count(".") + 1
    if text[0].isdigit():
        return None
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 4 and all(c.isupper() for c in letters):
        return 1
    return 2


def pending_level(numbered_title: str) -> int:
    return numbered_title.split()[0].count(".") + 1


def clean_heading(line: str) -> str:
    match = MARKDOWN_HEADING.match(line.strip())
    return (match.group(2) if match else line).strip()


def join_wrapped(previous: str, line: str) -> str:
    """Join a soft-wrapped line onto the paragraph so far, mending hyphenated breaks."""
    if HYPHENATED_BREAK.search(previous) and line[:1].islower():
        return previous[:-1] + line
    return previous + " " + line


def looks_hard_wrapped(lines: list[str]) -> bool:
    """True when the text was wrapped at a fixed width, so single newlines are soft."""
    lengths = [len(line.rstrip()) for line in lines if line.strip()]
    if len(lengths) < 3:
        return False
    return max(lengths) <= 120 and sum(length > 40 for length in lengths) > len(lengths) / 2


def blocks_from_lines(
    lines: Iterable[str], detect_headings: bool = True, wrapped: bool = True,
    sentence_breaks: bool = True,
) -> list[Block]:
    """Group lines into blocks. Blank lines always end a paragraph; bullets, headings
    and (with `sentence_breaks`) a line after a sentence end start a new one. Otherwise
    a line continues the paragraph when the text is `wrapped`, and is a paragraph of its
    own when not. The PDF reader turns `sentence_breaks` off: it knows from the layout
    whether a line ending in a full stop ends its paragraph."""
    blocks: list[Block] = []
    current: str | None = None
    pending_number: str | None = None  # "3.1" alone on a line, title on the next

    def flush() -> None:
        nonlocal current
        if current is not None and current.strip():
            blocks.append(Block(current.strip()))
        current = None

    cleaned = [" ".join(raw.replace("\u00a0", " ").split()) for raw in lines]
    for index, line in enumerate(cleaned):
        if not line:
            flush()
            continue
        if PAGE_NUMBER_ONLY.match(line):
            continue  # stray page numbers and contents-page references carry no meaning
        if BULLET_ONLY.match(line):
            flush()  # a list marker set apart from its item, as Word's "o" in Courier
            continue
        if detect_headings and SECTION_NUMBER_ONLY.match(line):
            flush()
            pending_number = line.rstrip(".")
            continue
        at_break = current is None or not wrapped or bool(SENTENCE_END.search(current))
        # a wrapped line that the next line carries on in lower case is the start of a
        # paragraph (often the short first line of a narrow column), not a heading
        continued = wrapped and index + 1 < len(cleaned) and cleaned[index + 1][:1].islower()
        level = heading_level(line) if detect_headings and at_break and not continued else None
        if pending_number is not None:
            candidate = f"{pending_number} {line}"
            pending_number = None
            if heading_level(candidate) is not None:
                flush()
                blocks.append(Block(candidate, pending_level(candidate)))
                continue
        if level is not None:
            flush()
            blocks.append(Block(clean_heading(line), level))
            continue
        if current is None:
            current = line
        elif not wrapped or BULLET.match(line) or (sentence_breaks
                                                   and SENTENCE_END.search(current)):
            flush()
            current = line
        else:
            current = join_wrapped(current, line)
    flush()
    return blocks
