"""What kind of passage a chunk is, from its shape alone: body text, or one of the
apparatus kinds a document carries around it (a reference list, a contents page, a
glossary). Apparatus stays searchable, but a question that is not about it should be
answered by body text, which repeats the same words in sentences that say something.

Shape, not vocabulary: a reference line has a year in brackets, "et al", a DOI or a
URL; a contents line ends in a page number; a glossary line is a short term and its
meaning. These hold in any document, so nothing here is fitted to one set."""

from __future__ import annotations

import re

BODY, REFERENCES, CONTENTS, GLOSSARY = "body", "references", "contents", "glossary"
KINDS = (BODY, REFERENCES, CONTENTS, GLOSSARY)

REFERENCE_MARK = re.compile(
    r"\(\s?(?:19|20)\d\d[a-z]?\s?\)|\bet al\b|\bdoi\b|https?://|www\.|\bAvailable (?:at|from)\b|"
    r"\b[Aa]ccessed\b|\bvol\.?\s?\d|\bpp?\.\s?\d|^\s*\[\d{1,3}\]|\b(?:19|20)\d\d[;:]\s?\d|"
    r"\bJournal\b|\bLancet\b|\bBMJ\b|\bISBN\b|\[Online\s?\]|\bIbid\b|"
    r"\.\s(?:19|20)\d\d[a-z]?\.\s",  # "Leeds City Council. 2018. Poverty Fact Book."
    re.IGNORECASE)
CONTENTS_LINE = re.compile(r"(?:\.\s?){3,}\s*\d{1,3}\s*$|…+\s*\d{1,3}\s*$|"
                           r"^\s*\d{0,2}\.?\d{0,2}\s*[A-Z][^.!?]{2,80}?\s\d{1,3}\s*$")
GLOSSARY_LINE = re.compile(r"^\s*[A-Z][A-Za-z&/]{1,12}\s*(?:[-–—:=]\s|\s{2,}|\t)\s*\S")
HEADINGS = {REFERENCES: re.compile(r"\b(?:references|bibliography|sources|further reading|"
                                   r"endnotes|notes)\b", re.IGNORECASE),
            CONTENTS: re.compile(r"\b(?:contents|index)\b", re.IGNORECASE),
            GLOSSARY: re.compile(r"\b(?:glossary|abbreviations|acronyms|definitions|"
                                 r"terminology)\b", re.IGNORECASE)}
# a question about one of these kinds wants that kind
ASKS_FOR = {REFERENCES: re.compile(r"\b(?:references?|bibliography|cited|citations?|"
                                   r"further reading|literature)\b", re.IGNORECASE),
            CONTENTS: re.compile(r"\b(?:contents|chapters?)\b", re.IGNORECASE),
            GLOSSARY: re.compile(r"\b(?:stands? for|acronyms?|abbreviations?|glossary|"
                                 r"definition of|what does \S+ mean)\b", re.IGNORECASE)}
# a part of every REFERENCE_MARK alternative (lower case): a line holding none of them
# cannot match it
REFERENCE_CLUES = ("(", "[", ";", ":", "19", "20", "et al", "doi", "http", "www.",
                   "available", "accessed", "vol", "p.", "journal", "lancet", "bmj", "isbn",
                   "ibid")
# the pattern ignores case as `re` does, where "ı" matches "i" and "ſ" matches "s";
# lower() keeps both, so they are folded for the clues
FOLDED = str.maketrans({"ı": "i", "ſ": "s"})
MIN_LINES = 3  # fewer lines than this say nothing about a passage's shape


def lines_of(text: str) -> list[str]:
    return [line for line in (raw.strip() for raw in text.splitlines()) if len(line) > 2]


def shares(text: str) -> dict[str, float]:
    """The share of the passage's lines that look like each apparatus kind (0 for a
    passage too short to judge)."""
    lines = lines_of(text)
    count = len(lines)
    if count < MIN_LINES:  # a short tail of a reference list: every line a reference
        whole = count > 1 and all(is_reference_line(line) for line in lines)
        return {REFERENCES: 1.0 if whole else 0.0, CONTENTS: 0.0, GLOSSARY: 0.0}
    return {REFERENCES: sum(is_reference_line(line) for line in lines) / count,
            # a table row ("Total | 100% | 1198") ends in a number too, but has cells
            CONTENTS: sum("|" not in line and is_contents_line(line) for line in lines) / count,
            GLOSSARY: sum(bool(GLOSSARY_LINE.match(line)) and len(line.split()) <= 25
                          for line in lines) / count}


def is_reference_line(line: str) -> bool:
    """REFERENCE_MARK somewhere in the line. Most lines hold none of the marks' fixed
    parts, and substring tests rule those out before the pattern runs: judging a passage
    fell from about 140 to 50 µs over the evaluation chunks, and the pattern had been
    most of the ranking time of a search at 200,000 chunks (BENCHMARKS.md)."""
    lowered = line.lower().translate(FOLDED)
    return any(clue in lowered for clue in REFERENCE_CLUES) and \
        bool(REFERENCE_MARK.search(line))


def is_contents_line(line: str) -> bool:
    """CONTENTS_LINE: every form of it ends in a page number, so a line that does not
    end in a digit is ruled out before the pattern runs."""
    return line.rstrip()[-1:].isdigit() and bool(CONTENTS_LINE.search(line))


def passage_kind(text: str, section: str = "") -> str:
    """`body`, or the apparatus kind the passage's lines (and its heading) show: most
    lines of that shape, or a good share of them under a heading that names the kind."""
    found = shares(text)
    best = max(found, key=lambda kind: found[kind])
    heading = (section or "").rsplit(">", 1)[-1]  # the nearest heading of a section path
    if found[best] >= 0.6 or found[best] >= 0.3 and HEADINGS[best].search(heading):
        return best
    return BODY


def kinds_asked_for(question: str) -> frozenset[str]:
    """The apparatus kinds a question is about ("which studies are cited", "what does
    ICB stand for"): for those, apparatus may rank as body text does."""
    return frozenset(kind for kind, pattern in ASKS_FOR.items() if pattern.search(question))
