"""OCR for image-only PDF pages, when the machine has Tesseract: pypdfium2 renders the
page and the `tesseract` program reads it. We call the program directly (as
pytesseract would) for its TSV output, whose paragraph numbers give us blocks.

This runs inside the parsing sandbox, so the sandbox's time and memory limits cover
it; each Tesseract run also has its own time limit and dies with its parent.
"""

from __future__ import annotations

import csv
import ctypes
import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path
from statistics import median
from typing import Any

from service.indexing.documents import Block, ReadError
from service.indexing.readers.paragraphs import SENTENCE_END, blocks_from_lines

RENDER_DPI = 300  # Tesseract's accuracy falls off below about 300 dpi
PAGE_TIMEOUT_S = 120.0
MIN_CONFIDENCE = 30.0  # below this Tesseract's "words" are mostly specks and texture
MIN_PAGE_CONFIDENCE = 50.0  # a page whose median word scores less is noise, not text
MIN_IMAGE_SHARE = 0.2  # a page with only a logo is not a scan
OCR_BULLET = re.compile(r"^[¢©«®]\s")  # how Tesseract reads a round bullet


def tesseract_path() -> str | None:
    return shutil.which("tesseract")


def is_scanned_page(page: Any) -> bool:
    """No text, and pictures covering a good part of the page: a scan."""
    area = float(page.width * page.height) or 1.0
    covered = sum(abs((image["x1"] - image["x0"]) * (image["bottom"] - image["top"]))
                  for image in page.images)
    return covered >= MIN_IMAGE_SHARE * area


def _die_with_parent() -> None:
    # if the sandbox kills our parse, Tesseract must not outlive it
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run_tesseract(image_path: Path, tesseract: str) -> str:
    # one thread: the build already parses one file per core
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        done = subprocess.run([tesseract, str(image_path), "stdout", "-l", "eng", "tsv"],
                              capture_output=True, text=True, timeout=PAGE_TIMEOUT_S,
                              env=environment, preexec_fn=_die_with_parent, check=False)
    except subprocess.TimeoutExpired:
        raise ReadError(f"OCR of a page took longer than {PAGE_TIMEOUT_S:g} s") from None
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ReadError(f"OCR failed: tesseract exited with status {done.returncode} "
                        f"({message})")
    return done.stdout


def blocks_from_tsv(tsv: str) -> list[Block]:
    """Tesseract's words grouped into its paragraphs, lines joined as wrapped text; no
    blocks at all when the page reads as noise (a stamp, a picture, another script)."""
    paragraphs: dict[tuple[int, int], dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    confidences = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        confidences.append(float(row["conf"]))
        if confidences[-1] >= MIN_CONFIDENCE:
            key = (int(row["block_num"]), int(row["par_num"]))
            paragraphs[key][int(row["line_num"])].append(text)
    if not confidences or median(confidences) < MIN_PAGE_CONFIDENCE:
        return []
    blocks: list[Block] = []
    for key in sorted(paragraphs):
        lines = [OCR_BULLET.sub("• ", " ".join(words))
                 for _, words in sorted(paragraphs[key].items())]
        for block in blocks_from_lines(lines, detect_headings=False, sentence_breaks=False):
            if sum(c.isalnum() for c in block.text) < 3:
                continue  # a lone character or two is a speck read as a letter
            if blocks and not SENTENCE_END.search(blocks[-1].text) and block.text[:1].islower():
                # Tesseract often starts a new paragraph at a wide gap mid-sentence
                blocks[-1] = Block(f"{blocks[-1].text} {block.text}")
            else:
                blocks.append(block)
    return blocks


def ocr_pages(path: Path, numbers: list[int], tesseract: str) -> dict[int, list[Block]]:
    """The blocks of each listed page (1-based), read by OCR."""
    import pypdfium2

    found: dict[int, list[Block]] = {}
    try:
        document = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as error:
        raise ReadError(f"image-only PDF that cannot be rendered for OCR ({error})") from None
    try:
        with tempfile.TemporaryDirectory(prefix="plansearch-ocr-") as folder:
            image_path = Path(folder) / "page.png"
            for number in numbers:
                page = document[number - 1]
                try:
                    bitmap = page.render(scale=RENDER_DPI / 72, grayscale=True)
                    bitmap.to_pil().save(image_path)
                except pypdfium2.PdfiumError as error:
                    raise ReadError(f"image-only page {number} cannot be rendered for OCR "
                                    f"({error})") from None
                finally:
                    page.close()
                found[number] = blocks_from_tsv(run_tesseract(image_path, tesseract))
    finally:
        document.close()
    return found
