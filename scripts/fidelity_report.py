"""Reader fidelity on real PDFs: what the index holds for a page, against pdfplumber's
plain `extract_text()` of that page, as word-level recall and precision.

    PYTHONPATH=. python scripts/fidelity_report.py [PDF_DIR] [--pages N]

Recall below 1 is partly intended (running headers and footers are dropped) and
precision below 1 partly too (table rows, and the head of a sentence cut by a page
break, which is indexed on the page where the sentence starts), so
the numbers are for spotting regressions between versions, not absolute scores. The
speed column is reading only (no chunking) per CPU second, which other work on the
machine disturbs less than wall time; the total leaves out OCR'd files.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

from service.embedding.models import SentenceTransformerEmbedder
from service.indexing.chunking import Chunk, chunk_document
from service.indexing.documents import Document, ReadError
from service.indexing.readers import read_document

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "pdfs"
WORD = re.compile(r"[\w£$%€'’.,:;/()+-]+")  # pdfplumber keeps punctuation; so do we


def words(text: str) -> Counter[str]:
    """Words lowercased with edge punctuation stripped; table cell bars are not words."""
    found = (w.strip(".,:;()'’\"-").lower() for w in WORD.findall(text))
    return Counter(w for w in found if w)


def indexed_text(document: Document, chunks: list[Chunk], number: int) -> str:
    """The parts of page `number` that some chunk covers, each part once: chunks overlap
    by a sentence and contents lists are left out, so this is not the page text."""
    page = next(p for p in document.pages if p.number == number)
    spans: list[tuple[int, int]] = []
    for chunk in chunks:
        if not chunk.page_start <= number <= chunk.page_end:
            continue
        start = chunk.char_start if chunk.page_start == number else 0
        end = chunk.char_end if chunk.page_end == number else len(page.text)
        spans.append((start, end))
    covered, last = [], 0
    for start, end in sorted(spans):
        start = max(start, last)
        if end > start:
            covered.append(page.text[start:end])
            last = end
    return "\n".join(covered)


def sample_pages(count: int, limit: int) -> list[int]:
    """Up to `limit` page numbers spread evenly over the document."""
    if count <= limit:
        return list(range(1, count + 1))
    return sorted({1 + round(i * (count - 1) / (limit - 1)) for i in range(limit)})


def report(pdf_dir: Path, page_limit: int) -> int:
    import pdfplumber

    tokenizer = SentenceTransformerEmbedder().tokenizer

    def count(text: str) -> int:
        return len(tokenizer.encode(text).ids)

    header = (f"{'file':28} {'pages':>5} {'sampled':>7} {'recall':>7} {'precision':>9} "
              f"{'pages/cpu-s':>11}")
    print(header)
    print("-" * len(header))
    total_pages, total_seconds = 0, 0.0
    all_hit = all_reference = all_indexed = 0
    for path in sorted(pdf_dir.glob("*.pdf")):
        started = time.process_time()
        try:
            document = read_document(path, path.name)
        except ReadError as error:
            print(f"{path.name:28} refused: {error}")
            continue
        seconds = time.process_time() - started
        chunks = chunk_document(document, count)
        if any(page.ocr for page in document.pages):
            # pdfplumber sees no text to compare with; Tesseract's time is a child's
            ocr_words = sum(words(chunk.text).total() for chunk in chunks)
            print(f"{path.name:28} {len(document.pages):5d} OCR: {ocr_words} words in "
                  f"{len(chunks)} chunks")
            continue
        total_pages += len(document.pages)
        total_seconds += seconds
        hit = reference_total = indexed_total = 0
        sampled = sample_pages(len(document.pages), page_limit)
        with pdfplumber.open(path) as pdf:
            for number in sampled:
                reference = words(pdf.pages[number - 1].extract_text() or "")
                indexed = words(indexed_text(document, chunks, number))
                hit += sum((reference & indexed).values())
                reference_total += sum(reference.values())
                indexed_total += sum(indexed.values())
        all_hit, all_reference, all_indexed = (all_hit + hit, all_reference + reference_total,
                                               all_indexed + indexed_total)
        print(f"{path.name:28} {len(document.pages):5d} {len(sampled):7d} "
              f"{hit / max(1, reference_total):7.3f} {hit / max(1, indexed_total):9.3f} "
              f"{len(document.pages) / max(seconds, 1e-9):11.1f}")
    print("-" * len(header))
    print(f"{'all (word-weighted)':28} {total_pages:5d} {'':7} "
          f"{all_hit / max(1, all_reference):7.3f} {all_hit / max(1, all_indexed):9.3f} "
          f"{total_pages / max(total_seconds, 1e-9):11.1f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf_dir", nargs="?", type=Path, default=DEFAULT_DIR,
                        help="folder of PDFs to measure (default: ../shared/pdfs)")
    parser.add_argument("--pages", type=int, default=12,
                        help="pages sampled per PDF, spread evenly (default: 12)")
    args = parser.parse_args(argv)
    if not args.pdf_dir.is_dir():
        print(f"error: {args.pdf_dir} is not a folder", file=sys.stderr)
        return 2
    return report(args.pdf_dir, args.pages)


if __name__ == "__main__":
    sys.exit(main())
