"""Sentence boundaries, shared by the build (which stores a vector per sentence) and
search (which scores sentences for highlights and answers)."""

from __future__ import annotations

import re

SENTENCE_BOUNDARY = re.compile(
    r"(?<=[.!?])[\"'’”)\]]*\s+(?=[A-Z0-9£\"'‘“(\[•])"  # a full stop before a capital
    r"|\s+(?=[•●▪◦]\s)")  # or an inline bullet


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in text. Line breaks and bullets end a sentence
    too: a list item or a heading is not part of the next sentence."""
    spans = []
    for line in re.finditer(r"[^\n]+", text):
        base, start = line.start(), 0
        piece = line.group()
        for match in SENTENCE_BOUNDARY.finditer(piece):
            spans.append((base + start, base + match.start()))
            start = match.end()
        spans.append((base + start, base + len(piece)))
    trimmed = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            trimmed.append((s, e))
    return trimmed
