"""The main content of a web page, found by trafilatura, as heading and paragraph blocks.

trafilatura scores the page's elements to find the article and drops the menus, cookie
banners, share buttons, sidebars and footers around it, which a tag-based reader cannot
tell from content on pages built from bare <div>s. Its XML tree keeps the structure the
chunker needs: headings with their level, list items and table rows.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from service.indexing.documents import Block

if TYPE_CHECKING:
    from lxml.etree import _Element

HEADING_REND = re.compile(r"^h([1-6])$")
# trafilatura elements that hold text of their own; everything else is a container
PARAGRAPH_TAGS = {"p", "quote", "code", "item"}
# children that end a run of text: line breaks, and lists and tables that are read as
# blocks of their own
BREAKS = {"lb", "br", "list", "table"}
# children that make their parent a container of blocks rather than a line of text
BLOCK_CHILDREN = {"p", "head", "list", "table", "quote", "code"}


def element_text(element: _Element) -> str:
    """The element's text with its line breaks as spaces, whitespace collapsed."""
    parts = [element.text or ""]
    for child in element:
        if child.tag in BREAKS:
            parts.append(" ")
        elif isinstance(child.tag, str):  # not a comment or processing instruction
            parts.append(element_text(child))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def heading_block(element: _Element) -> Block:
    match = HEADING_REND.match(element.get("rend", ""))
    # a heading that trafilatura gives no level is taken for a subsection
    return Block(element_text(element), int(match.group(1)) if match else 2)


def row_blocks(row: _Element) -> list[Block]:
    """A data row as one block, its cells joined by " | ". Cells that hold paragraphs or
    headings are a layout table's columns (old CMS pages): read as text of their own."""
    cells = [cell for cell in row if cell.tag == "cell"]
    layout = [cell for cell in cells if any(child.tag in BLOCK_CHILDREN for child in cell)]
    texts = [element_text(cell) for cell in cells if cell not in layout]
    blocks = [Block(" | ".join(text for text in texts if text))]
    return blocks + [block for cell in layout for block in blocks_from_tree(cell)]


def blocks_from_tree(element: _Element) -> list[Block]:
    """Blocks in reading order from trafilatura's XML body (or any part of it)."""
    blocks = [Block(loose_text(element.text))]
    for child in element:
        if child.tag == "head":
            blocks.append(heading_block(child))
        elif child.tag == "row":
            blocks += row_blocks(child)
        elif child.tag in PARAGRAPH_TAGS:
            blocks.append(Block(element_text(child)))
            blocks += nested_blocks(child)
        elif isinstance(child.tag, str):
            blocks += blocks_from_tree(child)
        blocks.append(Block(loose_text(child.tail)))
    return [block for block in blocks if block.text]


def loose_text(text: str | None) -> str:
    """Text directly inside a container, such as a layout cell's first line."""
    return " ".join((text or "").split())


def nested_blocks(element: _Element) -> list[Block]:
    """Lists and tables inside a list item, table cell or paragraph."""
    return [block for child in element if child.tag in {"list", "table"}
            for block in blocks_from_tree(child)]


def parse_page(html: str) -> _Element | None:
    """The page as an lxml tree, or None when there is nothing to parse."""
    import trafilatura

    return trafilatura.load_html(html)


def page_title(tree: _Element) -> str | None:
    title = tree.find(".//title")
    return (element_text(title) or None) if title is not None else None


def main_content_blocks(tree: _Element) -> list[Block]:
    """The page's article as blocks; [] when trafilatura finds no main content."""
    import trafilatura

    # favor_recall: on the fixtures it keeps the article of an old table-layout page
    # whole, where the default drops its lists; it costs no precision on the others
    extracted = trafilatura.bare_extraction(tree, favor_recall=True, include_comments=False,
                                            include_tables=True, include_formatting=False,
                                            include_links=False, include_images=False)
    # a dict only comes back when asked for one (as_dict), never here
    if extracted is None or isinstance(extracted, dict) or extracted.body is None:
        return []
    if is_page_dump(extracted.body):
        return []
    return with_page_heading(blocks_from_tree(extracted.body), tree)


def is_page_dump(body: _Element) -> bool:
    """True when trafilatura found no article and fell back to all the page's text.

    On a page whose article is short (under 250 characters, its MIN_EXTRACTED_SIZE) it
    may return every text node of the page, menus and footer included, one a line in a
    single paragraph. Its own extraction never leaves a line break in a paragraph's text
    (<lb/> marks a <br>), and the tag-based reader does better on such a page: it keeps
    the headings and drops what sits in <nav> or <footer>."""
    return any("\n" in (paragraph.text or "") for paragraph in body.iter("p"))


def with_page_heading(blocks: list[Block], tree: _Element) -> list[Block]:
    """Put back the page's one <h1> when trafilatura took it for page furniture.

    The article's title often sits in a header <div> beside the date and byline, which
    trafilatura drops, yet it is the heading the chunker names the first section after."""
    h1s = tree.findall(".//h1")
    if not blocks or len(h1s) != 1:
        return blocks
    title = element_text(h1s[0])
    if not title or any(block.text == title for block in blocks):
        return blocks
    return [Block(title, 1), *blocks]
