"""Reading order for PDF pages: column detection over word boxes.

pdfplumber returns words with positions; a plain top-to-bottom sort interleaves the
columns of a two- or three-column page line by line. We look for a vertical gutter
that splits a run of consecutive lines, read the left side of that run before the
right, and recurse once more for three columns.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from statistics import median
from typing import Any

Word = dict[str, Any]  # a pdfplumber word: text, x0, x1, top, bottom, size, fontname

MIN_GUTTER = 9.0  # points; wider than any inter-word space at body sizes
MIN_BAND_LINES = 3  # a gutter must split this many consecutive lines to count
TOUCHING = 0.08  # a gap under this fraction of the font size is no space at all
# pdfminer writes "(cid:N)" for a glyph its font gives no text for
GLYPH_CODE = re.compile(r"\(cid:\d+\)")


def extent(edge: str, pick: Callable[[Iterable[float]], float]) -> property:
    """A line's edge: the smallest or largest of its words' edges."""
    return property(lambda line: pick(float(w[edge]) for w in line.words))


@dataclass
class Line:
    words: list[Word]

    top = extent("top", min)
    bottom = extent("bottom", max)
    x0 = extent("x0", min)
    x1 = extent("x1", max)

    @property
    def text(self) -> str:
        return " ".join(w["text"] for w in sorted(self.words, key=lambda w: w["x0"]))

    @property
    def size(self) -> float:
        return median(float(w.get("size", 0.0)) for w in self.words)

    @property
    def bold(self) -> bool:
        return all("bold" in str(w.get("fontname", "")).lower() for w in self.words)


def group_lines(words: list[Word], tolerance: float = 3.0) -> list[Line]:
    """Cluster words into lines by their top coordinate."""
    lines: list[Line] = []
    for word in sorted(map(without_glyph_codes, words), key=lambda w: (round(w["top"]), w["x0"])):
        if lines and abs(lines[-1].words[-1]["top"] - word["top"]) <= tolerance:
            lines[-1].words.append(word)
        else:
            lines.append(Line([word]))
    for line in lines:
        line.words = join_touching_words(sorted(line.words, key=lambda w: w["x0"]))
    return lines


def without_glyph_codes(word: Word) -> Word:
    """The word with pdfminer's "(cid:N)" codes taken out. A word that is nothing but
    codes is a symbol-font glyph, in plan documents almost always a bullet: it becomes
    "•", so that it still starts a list item and keeps its box. Inside a word the
    letters it stood for can't be recovered; the code is dropped."""
    text = str(word["text"])
    if "(cid:" not in text:
        return word
    cleaned = GLYPH_CODE.sub("", text)
    return {**word, "text": cleaned if cleaned.strip() else "•"}


def join_touching_words(words: list[Word]) -> list[Word]:
    """Rejoin words that pdfplumber split where only the font changed: the "st" of a
    raised "1st", a subscript, a bold first letter. Their boxes touch; real words
    are a space apart."""
    joined: list[Word] = []
    for word in words:
        previous = joined[-1] if joined else None
        if previous is not None and word["x0"] - previous["x1"] <= TOUCHING * min(
                float(previous.get("size", 0.0)), float(word.get("size", 0.0))):
            # the larger piece is the word's body; keep its box and font for layout
            main = previous if previous.get("size", 0.0) >= word.get("size", 0.0) else word
            joined[-1] = {**main, "text": previous["text"] + word["text"],
                          "x0": previous["x0"], "x1": max(previous["x1"], word["x1"])}
        else:
            joined.append(word)
    return joined


def _split_gap(line: Line, x: float) -> float:
    """Free horizontal space around x in this line; negative if a word covers x."""
    x0s = [w["x0"] for w in line.words]
    i = bisect_left(x0s, x)
    if i == 0 or i == len(x0s):
        return -1.0  # words only on one side: says nothing about a gutter
    left_end = max(w["x1"] for w in line.words[:i])
    if left_end > x:
        return -1.0
    return x0s[i] - left_end


def _bands(lines: list[Line], x: float) -> list[tuple[int, int]]:
    """Runs [start, end) of consecutive lines that x splits with a gutter-sized gap."""
    runs, start = [], None
    for i, line in enumerate(lines + [Line([{"text": "", "x0": x, "x1": x, "top": 0,
                                             "bottom": 0}])]):
        split = i < len(lines) and _split_gap(line, x) >= MIN_GUTTER
        # a line wholly on one side of x continues a run; it doesn't start one
        one_sided = i < len(lines) and (line.words[-1]["x1"] <= x or line.words[0]["x0"] >= x)
        if split or (one_sided and start is not None):
            start = i if start is None else start
        else:
            if start is not None and sum(
                _split_gap(lines[j], x) >= MIN_GUTTER for j in range(start, i)
            ) >= MIN_BAND_LINES:
                runs.append((start, i))
            start = None
    return runs


def find_gutter(lines: list[Line], left: float, right: float) -> float | None:
    """The x between left and right that splits the most lines into two columns."""
    width = right - left
    if width < 200 or len(lines) < MIN_BAND_LINES:
        return None
    best_x, best_score = None, 0
    x = left + 0.2 * width
    while x <= left + 0.8 * width:
        score = sum(end - start for start, end in _bands(lines, x))
        if score > best_score:
            best_x, best_score = x, score
        x += 3.0
    return best_x


def reading_order(words: list[Word], left: float, right: float, depth: int = 0) -> list[Line]:
    """Lines in reading order: full-width lines as they come, column runs left first."""
    lines = group_lines(words)
    gutter = find_gutter(lines, left, right) if depth < 2 else None
    if gutter is None:
        return lines
    ordered: list[Line] = []
    cursor = 0
    for start, end in _bands(lines, gutter):
        ordered.extend(lines[cursor:start])
        band_words = [w for line in lines[start:end] for w in line.words]
        left_words = [w for w in band_words if w["x1"] <= gutter]
        right_words = [w for w in band_words if w["x0"] >= gutter]
        ordered.extend(reading_order(left_words, left, gutter, depth + 1))
        ordered.extend(reading_order(right_words, gutter, right, depth + 1))
        cursor = end
    ordered.extend(lines[cursor:])
    return ordered
