"""HTML pages: the main text with headings; scripts, styles and navigation dropped."""

from __future__ import annotations

from pathlib import Path

from service.indexing.documents import Block, Document, DocumentMeta, Page
from service.indexing.readers.boilerplate import is_boilerplate
from service.indexing.readers.text import decode_text

DROPPED_TAGS = ["script", "style", "noscript", "template", "nav", "header", "footer", "aside",
                "form", "button", "svg", "iframe", "select"]
HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
BLOCK_TAGS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "pre", "blockquote",
              "dt", "dd", "figcaption", "caption"]


def read_html(path: Path, relative_path: str) -> Document:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(path.read_bytes()), "html.parser")
    title_tag = soup.find("title")
    meta = DocumentMeta(title=" ".join(title_tag.get_text().split()) if title_tag else None)
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
    return Document(path=relative_path, pages=[Page(number=1, blocks=blocks)], meta=meta)
