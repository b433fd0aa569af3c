"""HTML pages: the main text with headings; scripts, styles and navigation dropped.

trafilatura finds the article (html_main.py). When it finds nothing, which happens on
very short pages, the tag-based reader below reads the page instead."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from service.indexing.documents import Block, Document, DocumentMeta, Page
from service.indexing.readers.boilerplate import is_boilerplate
from service.indexing.readers.html_main import main_content_blocks, page_title, parse_page
from service.indexing.readers.text import decode_text

if TYPE_CHECKING:
    from bs4 import BeautifulSoup

DROPPED_TAGS = ["script", "style", "noscript", "template", "nav", "header", "footer", "aside",
                "form", "button", "svg", "iframe", "select"]
HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# "Page last reviewed: 3 July 2023 Next review due: 3 July 2024", as NHS pages stamp them
REVIEW_STAMP = re.compile(r"^(?:page )?last (?:reviewed|updated)\s*:?\s*(?P<date>\d{1,2} [A-Za-z]+ "
                          r"\d{4})(?:\s*next review due\s*:?\s*\d{1,2} [A-Za-z]+ \d{4})?\.?$",
                          re.IGNORECASE)
BLOCK_TAGS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "pre", "blockquote",
              "dt", "dd", "figcaption", "caption"]


def read_html(path: Path, relative_path: str) -> Document:
    html = decode_text(path.read_bytes())
    tree = parse_page(html)
    blocks = main_content_blocks(tree) if tree is not None else []
    blocks = [block for block in blocks if not is_boilerplate(block.text)]
    if not blocks:
        from bs4 import BeautifulSoup  # imported here: most pages never need it

        blocks = blocks_from_tags(BeautifulSoup(html, "html.parser"))
    blocks, reviewed = without_review_stamp(blocks)
    meta = DocumentMeta(title=page_title(tree) if tree is not None else None,
                        published=f"reviewed {reviewed}" if reviewed else None)
    return Document(path=relative_path, pages=[Page(number=1, blocks=blocks)], meta=meta)


def without_review_stamp(blocks: list[Block]) -> tuple[list[Block], str | None]:
    """The blocks less the page's review stamp, and its date: the stamp is page furniture
    that would become a one-line chunk, but its date says how current the page is, so the
    citation states it."""
    reviewed = None
    kept = []
    for block in blocks:
        stamp = REVIEW_STAMP.match(block.text.strip())
        if stamp:
            reviewed = reviewed or stamp.group("date")
        else:
            kept.append(block)
    return kept, reviewed


def blocks_from_tags(soup: BeautifulSoup) -> list[Block]:
    """The page's text blocks, less the tags that hold page furniture."""
    for tag in soup(DROPPED_TAGS):
        tag.decompose()
    for tag in soup.select('[role="navigation"], [aria-hidden="true"], [hidden]'):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup

    blocks: list[Block] = []
    for element in root.find_all(BLOCK_TAGS):
        # an <li> or <td> holding a <p> would otherwise be read twice
        if element.find(BLOCK_TAGS):
            continue
        if element.name == "tr":
            cells = [" ".join(c.get_text(" ").split()) for c in element.find_all(["td", "th"])]
            text = " | ".join(c for c in cells if c)
        else:
            text = " ".join(element.get_text(" ").split())
        if not text or is_boilerplate(text):
            continue
        level = int(element.name[1]) if element.name in HEADING_TAGS else None
        blocks.append(Block(text, level))
    if not blocks:  # pages built from bare <div>s: fall back to their text lines
        lines = [" ".join(line.split()) for line in root.get_text("\n").split("\n")]
        blocks = [Block(line) for line in lines if line and not is_boilerplate(line)]
    return blocks
