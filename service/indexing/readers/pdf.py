"""PDF pages via pdfplumber: page numbers and labels, columns, tables, headings,
and running headers and footers removed."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from service.indexing.documents import Block, Document, DocumentMeta, Page, ReadError
from service.indexing.readers.paragraphs import blocks_from_lines
from service.indexing.readers.pdf_layout import Line, Word, reading_order
from service.indexing.readers.pdf_words import page_words

MARGIN_BAND = 0.1  # headers and footers live in the top and bottom tenth of a page
PAGE_OF = re.compile(r"^\s*page\s+\d+(\s+of\s+\d+)?\s*$", re.IGNORECASE)
PRINTED_NUMBER = re.compile(r"^(?:page\s+)?(\d{1,4})\b|\b(\d{1,4})$", re.IGNORECASE)
DEFAULT_MAX_PAGES = 2000


@dataclass
class RawPage:
    number: int
    height: float
    lines: list[Line]
    tables: list[tuple[float, list[str]]]  # (top, rows) in page order
    dropped: list[str] = field(default_factory=list)


def signature(text: str) -> str:
    """Header/footer identity: the same line with its page number varies only in digits."""
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def open_pdf(path: Path) -> Any:
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        return pdfplumber.open(str(path))
    except PdfminerException as error:
        cause = error.args[0] if error.args else error
        if isinstance(cause, PDFPasswordIncorrect):
            raise ReadError("encrypted PDF: it needs a password to open") from None
        raise ReadError(f"corrupt or truncated PDF ({type(cause).__name__}: {cause})") from None
    except Exception as error:  # pdfminer raises a zoo of parser errors on damaged input
        raise ReadError(f"corrupt or truncated PDF ({type(error).__name__}: {error})") from None


def page_labels(pdf: Any) -> list[str] | None:
    try:
        # pdfminer's generator never ends: it keeps inventing labels past the last page
        return list(islice(pdf.doc.get_page_labels(), len(pdf.pages)))
    except Exception:  # PDFNoPageLabels, or a damaged /PageLabels tree: labels are optional
        return None


def usable_tables(page: Any) -> list[Any]:
    """Ruled tables with at least two rows and columns; chart frames and boxes are not."""
    tables = []
    for table in page.find_tables():
        rows = table.extract()
        cells = [c for row in rows for c in row]
        filled = [c for c in cells if c and c.strip()]
        if len(rows) >= 2 and max(len(r) for r in rows) >= 2 and len(filled) >= 0.4 * len(cells):
            tables.append(table)
    return tables


def table_rows(table: Any) -> list[str]:
    rows = []
    for row in table.extract():
        cells = [" ".join((cell or "").split()) for cell in row]
        text = " | ".join(cell for cell in cells if cell)
        if text:
            rows.append(text)
    return rows


def extract_raw_page(page: Any, number: int) -> RawPage:
    tables = usable_tables(page)
    boxes = [table.bbox for table in tables]

    def outside_tables(obj: dict[str, Any]) -> bool:
        cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes)

    def on_page(obj: dict[str, Any]) -> bool:  # malformed files put text off the page
        return 0 <= obj["top"] and obj["bottom"] <= page.height + 1 and obj["x0"] >= -1

    body = page.filter(lambda obj: obj.get("object_type") != "char" or
                       (outside_tables(obj) and on_page(obj)))
    words: list[Word] = body.extract_words(extra_attrs=["size", "fontname"], use_text_flow=False)
    lines = reading_order(words, 0.0, float(page.width))
    return RawPage(number, float(page.height), lines,
                   [(t.bbox[1], table_rows(t)) for t in tables])


def margin_lines(raw: RawPage) -> list[Line]:
    top, bottom = raw.height * MARGIN_BAND, raw.height * (1 - MARGIN_BAND)
    return [line for line in raw.lines if line.bottom <= top or line.top >= bottom]


def drop_running_lines(pages: list[RawPage]) -> None:
    """Remove lines in the margins that repeat (modulo digits) on most pages."""
    counts: Counter[str] = Counter()
    for raw in pages:
        counts.update({signature(line.text) for line in margin_lines(raw)})
    threshold = max(3, int(0.5 * len(pages)))
    for raw in pages:
        margins = {id(line) for line in margin_lines(raw)}
        kept = []
        for line in raw.lines:
            text = line.text
            running = id(line) in margins and (
                counts[signature(text)] >= threshold or PAGE_OF.match(text)
                or re.fullmatch(r"\d{1,4}", text.strip()) is not None
            )
            if running or PAGE_OF.match(text):
                raw.dropped.append(text)
            else:
                kept.append(line)
        raw.lines = kept


def printed_labels(pages: list[RawPage]) -> dict[int, str]:
    """Printed page numbers read off dropped headers/footers, trusted only when they
    keep a constant offset from the physical page number on most pages."""
    found: dict[int, int] = {}
    for raw in pages:
        for text in raw.dropped:
            match = PRINTED_NUMBER.search(text.strip())
            if match:
                found[raw.number] = int(match.group(1) or match.group(2))
                break
    if not found:
        return {}
    offsets = Counter(number - printed for number, printed in found.items())
    offset, votes = offsets.most_common(1)[0]
    if votes < max(2, 0.6 * len(found)):
        return {}
    return {number: str(printed) for number, printed in found.items() if number - printed == offset}


def heading_sizes(pages: list[RawPage]) -> tuple[float, list[float]]:
    """The body font size and the larger sizes that mark headings, largest first."""
    weights: Counter[float] = Counter()
    for raw in pages:
        for line in raw.lines:
            weights[round(line.size * 2) / 2] += len(line.text)
    if not weights:
        return 0.0, []
    body = weights.most_common(1)[0][0]
    larger = sorted((size for size in weights if size >= body * 1.15 + 0.5), reverse=True)
    return body, larger[:4]


def page_blocks(raw: RawPage, body_size: float, sizes: list[float]) -> list[Block]:
    """Lines to blocks: font size marks headings, vertical gaps mark paragraphs."""
    items: list[tuple[float, Block | str | None]] = []
    previous: Line | None = None
    gaps = [b.top - a.bottom for a, b in zip(raw.lines, raw.lines[1:], strict=False)
            if b.top > a.bottom]
    leading = sorted(gaps)[len(gaps) // 2] if gaps else 3.0
    for line in raw.lines:
        text = line.text.strip()
        size = round(line.size * 2) / 2
        if size in sizes and len(text) <= 120:
            items.append((line.top, Block(text, sizes.index(size) + 1)))
        else:
            if previous is not None and (line.top - previous.bottom > leading * 1.8 + 1
                                         or line.top < previous.top):
                items.append((line.top, None))  # paragraph break
            items.append((line.top, text))
        previous = line
    blocks: list[Block] = []
    pending: list[str] = []

    def flush() -> None:
        blocks.extend(blocks_from_lines(pending, detect_headings=True, wrapped=True))
        pending.clear()

    table_queue = sorted(raw.tables, key=lambda t: t[0])
    for top, item in items:
        while table_queue and table_queue[0][0] <= top:
            flush()
            blocks.extend(Block(row) for row in table_queue.pop(0)[1])
        if isinstance(item, Block):
            flush()
            # a heading that wraps onto two lines arrives as two heading lines
            if blocks and blocks[-1].heading_level == item.heading_level and not pending:
                blocks[-1] = Block(f"{blocks[-1].text} {item.text}", item.heading_level)
            else:
                blocks.append(item)
        elif item is None:
            pending.append("")
        else:
            pending.append(item)
    flush()
    for _, rows in table_queue:
        blocks.extend(Block(row) for row in rows)
    return blocks


def plausible_title(title: str) -> str | None:
    """PDF Title metadata is often a file name or a template's leftover; refuse those."""
    title = re.sub(r"^Microsoft (?:Word|PowerPoint) - ", "", " ".join(title.split()))
    if not 3 <= len(title) <= 200 or re.search(r"\.(pdf|docx?|pptx?|indd|qxp)$", title, re.I):
        return None
    if re.search(r"\btemplate\b|^untitled|^\d{3,}\s*-", title, re.I):
        return None
    return title


def read_pdf(path: Path, relative_path: str, max_pages: int = DEFAULT_MAX_PAGES) -> Document:
    with open_pdf(path) as pdf:
        if len(pdf.pages) > max_pages:
            raise ReadError(f"too many pages: {len(pdf.pages)} (limit {max_pages})")
        try:
            raw_pages = [extract_raw_page(page, i) for i, page in enumerate(pdf.pages, start=1)]
        except ReadError:
            raise
        except Exception as error:  # damaged content streams surface only while reading
            raise ReadError(f"corrupt PDF content ({type(error).__name__}: {error})") from None
        page_sizes = [(float(page.width), float(page.height)) for page in pdf.pages]
        labels = page_labels(pdf)
        info = pdf.metadata or {}
        encrypted = pdf.doc.encryption is not None
    if not any(line.text.strip() for raw in raw_pages for line in raw.lines) and not any(
        rows for raw in raw_pages for _, rows in raw.tables
    ):
        note = " (it is also encrypted with an owner password)" if encrypted else ""
        raise ReadError(f"image-only PDF: no text layer on any of its {len(raw_pages)} "
                        f"page(s); it needs OCR first{note}")
    drop_running_lines(raw_pages)
    footer_labels = printed_labels(raw_pages) if labels is None else {}
    body_size, sizes = heading_sizes(raw_pages)
    pages = []
    for raw in raw_pages:
        label = labels[raw.number - 1] if labels and raw.number <= len(labels) else None
        pages.append(Page(number=raw.number, label=label or footer_labels.get(raw.number),
                          blocks=page_blocks(raw, body_size, sizes),
                          words=page_words(raw.lines, *page_sizes[raw.number - 1])))
    meta = DocumentMeta(title=plausible_title(str(info.get("Title") or "")))
    return Document(path=relative_path, pages=pages, meta=meta)
