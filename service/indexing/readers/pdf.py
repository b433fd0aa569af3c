"""PDF pages via pdfplumber: page numbers and labels, columns, tables, headings,
and running headers and footers removed."""

from __future__ import annotations

import re
from itertools import islice
from pathlib import Path
from typing import Any

from service.indexing.documents import Block, Document, DocumentMeta, Page, ReadError
from service.indexing.readers.pdf_actions import active_content, active_content_warning
from service.indexing.readers.pdf_blocks import heading_sizes, join_across_pages, page_blocks
from service.indexing.readers.pdf_layout import Word, group_lines, reading_order
from service.indexing.readers.pdf_margins import RawPage, drop_running_lines, printed_labels
from service.indexing.readers.pdf_ocr import is_scanned_page, ocr_pages, tesseract_path
from service.indexing.readers.pdf_words import page_words

DEFAULT_MAX_PAGES = 2000


def raise_if_out_of_memory(error: BaseException) -> None:
    """pdfplumber wraps a MemoryError from zlib or pdfminer in its own exception; the
    sandbox must see it as one, to say the file is too large rather than corrupt."""
    cause = error.args[0] if error.args else None
    if isinstance(error, MemoryError) or isinstance(cause, MemoryError):
        raise MemoryError(str(cause or error)) from None


def open_pdf(path: Path) -> Any:
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        return pdfplumber.open(str(path))
    except PdfminerException as error:
        raise_if_out_of_memory(error)
        cause = error.args[0] if error.args else error
        if isinstance(cause, PDFPasswordIncorrect):
            raise ReadError("encrypted PDF: it needs a password to open") from None
        raise ReadError(f"corrupt or truncated PDF ({type(cause).__name__}: {cause})") from None
    except Exception as error:  # pdfminer raises a zoo of parser errors on damaged input
        raise_if_out_of_memory(error)
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
                   [(t.bbox[1], table_rows(t)) for t in tables],
                   table_words=[cell_words(page, table) for table in tables])


def read_raw_page(page: Any, number: int) -> tuple[RawPage, bool]:
    """The page's layout, or, when its table and column analysis runs out of memory (a
    vector-heavy brochure page can), its words as plain lines: one page degrades, the
    document is never refused whole. The flag says which it was."""
    try:
        return extract_raw_page(page, number), False
    except Exception as error:
        try:
            raise_if_out_of_memory(error)
        except MemoryError:
            page.close()  # drop what the failed analysis cached before the cheap pass
            words = page.extract_words(extra_attrs=["size", "fontname"], use_text_flow=True)
            return RawPage(number, float(page.height), group_lines(words), []), True
        raise


def cell_words(page: Any, table: Any) -> list[Word]:
    """The table's words in the order table_rows gives its text: row by row, cell by cell,
    top to bottom and left to right inside a cell. One word extraction for the table; each
    word goes to the cell its centre falls in."""
    words = page.within_bbox(table.bbox).extract_words(use_text_flow=False)
    cells = [cell for row in table.rows for cell in row.cells if cell is not None]
    placed: list[list[Word]] = [[] for _ in cells]
    for word in words:
        cx, cy = (word["x0"] + word["x1"]) / 2, (word["top"] + word["bottom"]) / 2
        for index, (x0, top, x1, bottom) in enumerate(cells):
            if x0 <= cx <= x1 and top <= cy <= bottom:
                placed[index].append(word)
                break
    return [word for cell in placed
            for word in sorted(cell, key=lambda w: (round(w["top"]), w["x0"]))]


def plausible_title(title: str) -> str | None:
    """PDF Title metadata is often a file name or a template's leftover; refuse those."""
    title = re.sub(r"^Microsoft (?:Word|PowerPoint) - ", "", " ".join(title.split()))
    if not 3 <= len(title) <= 200 or re.search(r"\.(pdf|docx?|pptx?|indd|qxp)$", title, re.I):
        return None
    if re.search(r"\btemplate\b|^untitled|^\d{3,}\s*-", title, re.I):
        return None
    return title


def read_pages(pdf: Any) -> tuple[list[RawPage], list[int], list[int], list[int]]:
    """Every page's layout, one page at a time: (pages, scanned page numbers, pictured
    page numbers, page numbers read as plain text)."""
    raw_pages: list[RawPage] = []
    scans, pictured, plain = [], [], []
    try:
        for number, page in enumerate(pdf.pages, start=1):
            raw, degraded = read_raw_page(page, number)
            raw_pages.append(raw)
            if degraded:
                plain.append(number)
            if not raw.lines and not raw.tables and page.images:
                pictured.append(number)
                if is_scanned_page(page):
                    scans.append(number)
            # a page keeps every parsed object cached until closed: a 37-page
            # vector-heavy brochure held 2 GB open, 145 MB closed page by page
            page.close()
    except ReadError:
        raise
    except Exception as error:  # damaged content streams surface only while reading
        raise_if_out_of_memory(error)
        raise ReadError(f"corrupt PDF content ({type(error).__name__}: {error})") from None
    return raw_pages, scans, pictured, plain


def read_pdf(path: Path, relative_path: str, max_pages: int = DEFAULT_MAX_PAGES) -> Document:
    with open_pdf(path) as pdf:
        if len(pdf.pages) > max_pages:
            raise ReadError(f"too many pages: {len(pdf.pages)} (limit {max_pages})")
        raw_pages, scans, pictured, plain = read_pages(pdf)
        page_sizes = [(float(page.width), float(page.height)) for page in pdf.pages]
        labels = page_labels(pdf)
        info = pdf.metadata or {}
        encrypted = pdf.doc.encryption is not None
        actions = active_content(pdf)
    has_text = any(raw.lines or raw.tables for raw in raw_pages)
    # with no text at all, any page with a picture may be a scan; otherwise only pages
    # that are mostly picture are worth the OCR time
    to_read = scans if has_text else pictured
    tesseract = tesseract_path()
    if not has_text and (tesseract is None or not to_read):
        note = " (it is also encrypted with an owner password)" if encrypted else ""
        advice = "install tesseract-ocr to index it" if tesseract is None else "nothing to OCR"
        raise ReadError(f"image-only PDF: {advice} (no text layer on any of its "
                        f"{len(raw_pages)} page(s)){note}")
    warnings = [active_content_warning(actions)] if actions else []
    ocr_blocks: dict[int, list[Block]] = {}
    if to_read and tesseract is not None:
        ocr_blocks = ocr_pages(path, to_read, tesseract)
        if not has_text and not any(ocr_blocks.values()):
            raise ReadError(f"image-only PDF: OCR found no legible English text on any of "
                            f"its {len(raw_pages)} page(s)")
    elif to_read:
        warnings.append(f"{len(to_read)} image-only page(s) not indexed: install "
                        "tesseract-ocr to index them")
    if plain:
        warnings.append(f"page(s) {', '.join(map(str, plain))} read as plain text: their "
                        "table and column analysis ran out of memory")
    drop_running_lines(raw_pages)
    footer_labels = printed_labels(raw_pages) if labels is None else {}
    body_size, sizes = heading_sizes(raw_pages)
    pages = []
    for raw in raw_pages:
        label = labels[raw.number - 1] if labels and raw.number <= len(labels) else None
        ocr = raw.number in ocr_blocks
        blocks = ocr_blocks[raw.number] if ocr else page_blocks(raw, body_size, sizes)
        pages.append(Page(number=raw.number, label=label or footer_labels.get(raw.number),
                          blocks=blocks, ocr=ocr,
                          words=None if ocr else page_words(raw,
                                                            *page_sizes[raw.number - 1])))
    join_across_pages(pages)
    meta = DocumentMeta(title=plausible_title(str(info.get("Title") or "")))
    return Document(path=relative_path, pages=pages, meta=meta, warnings=warnings,
                    active_content=list(actions))
