"""PDF lines to blocks, from the page's typography: vertical gaps, short last lines
and column changes end paragraphs; size, weight, spacing, numbering and what follows
make a heading. A short line alone does not."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from service.indexing.documents import Block, Page
from service.indexing.readers.paragraphs import (
    BULLET,
    NUMBERED_HEADING,
    SENTENCE_END,
    blocks_from_lines,
    is_signature,
)
from service.indexing.readers.pdf_layout import Line
from service.indexing.readers.pdf_margins import RawPage

CONTINUES = re.compile(r"^[a-z(]|^[-–]\s")  # how a sentence carries on past a break
FULL_STOP = re.compile(r"[.!?]['\"’”)]?(?:\s|$)")


def rounded(size: float) -> float:
    return round(size * 2) / 2


def heading_sizes(pages: list[RawPage]) -> tuple[float, list[float]]:
    """The body font size and the larger sizes that mark headings, largest first."""
    weights: Counter[float] = Counter()
    for raw in pages:
        for line in raw.lines:
            weights[rounded(line.size)] += len(line.text)
    if not weights:
        return 0.0, []
    body = weights.most_common(1)[0][0]
    larger = sorted((size for size in weights if size >= body + 1), reverse=True)
    return body, larger[:4]


@dataclass
class Group:
    """Consecutive lines that read as one unit: a paragraph or a heading."""

    lines: list[Line]
    gap_above: float | None  # None at the top of a page, a column or after a table

    @property
    def text(self) -> str:
        return " ".join(line.text.strip() for line in self.lines)


def is_short(line: Line, before: Line | None, after: Line) -> bool:
    """A line that stops well short of its neighbours' right edge ends a paragraph."""
    right = max(after.x1, before.x1 if before is not None else after.x1)
    return line.x1 < right - max(0.1 * (right - line.x0), 2 * line.size)


def breaks_between(before: Line | None, previous: Line, line: Line, leading: float) -> bool:
    text = previous.text.strip()
    if line.top < previous.top - 1 or line.x0 > previous.x1:  # a new column
        return not (not SENTENCE_END.search(text) and CONTINUES.match(line.text.strip()))
    if abs(rounded(line.size) - rounded(previous.size)) > 0.5:
        return True
    if line.top - previous.bottom > leading * 1.8 + 1:
        return True
    ended = bool(SENTENCE_END.search(text))
    start = line.text.strip()
    mid_sentence = not ended and not start[:1].isupper() and not BULLET.match(start)
    if line.bold != previous.bold and not mid_sentence:
        return True  # a change of weight, unless mid-sentence, as for an emphasised line
    # a wrapped line may end in a full stop; only a short one ends the paragraph
    return ended and is_short(previous, before, line)


def group_lines(lines: list[Line], leading: float) -> list[Group]:
    groups: list[Group] = []
    for i, line in enumerate(lines):
        previous = lines[i - 1] if i else None
        if previous is None:
            groups.append(Group([line], None))
            continue
        before = lines[i - 2] if i > 1 and groups[-1].lines[0] is not previous else None
        if breaks_between(before, previous, line, leading):
            column_change = line.top < previous.top - 1 or line.x0 > previous.x1
            groups.append(Group([line], None if column_change else line.top - previous.bottom))
        else:
            groups[-1].lines.append(line)
    return groups


def heading_level(group: Group, following: Group | None, body_size: float,
                  sizes: list[float], leading: float) -> int | None:
    text = group.text
    words = text.split()
    size = rounded(group.lines[0].size)
    numbered = NUMBERED_HEADING.match(text)  # "6. Flexible Retirement" is no list item
    if len(text) > 150 or sum(c.isalpha() for c in text) < 2 or is_signature(text) \
            or text[0].islower() or (BULLET.match(text) and not numbered):
        return None  # page numbers on a contents page are not headings either
    if size in sizes:
        # a large lead-in paragraph is not a heading: headings are not sentences
        if FULL_STOP.search(text) and len(words) > 8:
            return None
        return sizes.index(size) + 1
    if size < body_size - 0.5 or len(text) > 100 or len(words) > 14 or len(group.lines) > 2:
        return None
    if SENTENCE_END.search(text) or text.endswith(",") or not (text[0].isupper()
                                                               or text[0].isdigit()):
        return None
    if following is not None and CONTINUES.match(following.text):
        return None  # the sentence carries on: a short first line, not a title
    # below every larger-type heading: "6. Flexible Retirement" sits under the title
    depth = numbered.group(1).count(".") + 1 if numbered else 1
    level = min(len(sizes) + depth, 6)
    if all(line.bold for line in group.lines):
        return level
    letters = [c for c in text if c.isalpha()]
    capitals = len(letters) >= 4 and all(c.isupper() for c in letters)
    if not (numbered or capitals):
        return None
    # set apart by space above and below, as a regular-weight heading needs to be
    spaced_above = group.gap_above is None or group.gap_above > leading * 1.8 + 1
    spaced_below = following is None or following.gap_above is None or \
        following.gap_above > leading * 1.3 + 0.5
    return level if spaced_above and spaced_below else None


def line_spacing(lines: list[Line]) -> float:
    """The usual gap between lines of a paragraph on this page: the commonest gap, not
    the median, which a page of short paragraphs pushes up to the paragraph spacing."""
    gaps = Counter(round(b.top - a.bottom) for a, b in zip(lines, lines[1:], strict=False)
                   if b.top > a.bottom)
    if not gaps:
        return 3.0
    return float(max(gaps.items(), key=lambda item: (item[1], -item[0]))[0])


def page_blocks(raw: RawPage, body_size: float, sizes: list[float]) -> list[Block]:
    """The page's lines and tables as blocks, in reading order."""
    leading = line_spacing(raw.lines)
    blocks: list[Block] = []
    tables = sorted(raw.tables, key=lambda t: t[0])
    runs: list[list[Line]] = [[]]  # lines between tables
    run_tables: list[list[str]] = []
    for line in raw.lines:
        while tables and tables[0][0] <= line.top:
            run_tables.append(tables.pop(0)[1])
            runs.append([])
        runs[-1].append(line)
    run_tables.extend(rows for _, rows in tables)
    for index, run in enumerate(runs):
        groups = group_lines(run, leading)
        for i, group in enumerate(groups):
            following = groups[i + 1] if i + 1 < len(groups) else None
            level = heading_level(group, following, body_size, sizes, leading)
            if level is None:
                blocks.extend(blocks_from_lines([line.text for line in group.lines],
                                                detect_headings=False, sentence_breaks=False))
            elif blocks and blocks[-1].heading_level == level and group.gap_above is not None \
                    and group.gap_above <= leading * 1.8 + 1:
                # a heading that wraps onto a new line in another weight is still one
                blocks[-1] = Block(f"{blocks[-1].text} {group.text}", level)
            else:
                blocks.append(Block(group.text, level))
        for rows in run_tables[index:index + 1]:
            blocks.extend(Block(row) for row in rows)
    for rows in run_tables[len(runs):]:
        blocks.extend(Block(row) for row in rows)
    return blocks


def join_across_pages(pages: list[Page]) -> None:
    """A sentence cut by a page break is put back together on the page it starts on:
    a chunk holds the whole sentence, and its page is where the reader finds its start."""
    for page, following in zip(pages, pages[1:], strict=False):
        if not page.blocks or not following.blocks:
            continue
        last, first = page.blocks[-1], following.blocks[0]
        if last.heading_level is not None or first.heading_level is not None \
                or " | " in last.text or " | " in first.text:
            continue  # headings and table rows are not sentences
        if SENTENCE_END.search(last.text) or not CONTINUES.match(first.text):
            continue
        end = FULL_STOP.search(first.text)
        cut = end.end() if end else len(first.text)
        head, rest = first.text[:cut].strip(), first.text[cut:].strip()
        page.blocks[-1] = Block(f"{last.text} {head}")
        following.blocks[:1] = [Block(rest)] if rest else []
