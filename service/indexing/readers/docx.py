"""Word documents via python-docx, keeping heading levels and tables."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from service.indexing.documents import Block, Document, DocumentMeta, Page, ReadError

HEADING_STYLE = re.compile(r"^(?:Heading|Title)\s*(\d*)$", re.IGNORECASE)


def read_docx(path: Path, relative_path: str) -> Document:
    import docx  # python-docx; imported here so other readers don't pay for it
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except PackageNotFoundError:
        # python-docx says "Package not found at <path>" for any file that isn't a zip
        raise ReadError("not a readable Word .docx file (not a zip package; an old .doc "
                        "renamed?)") from None
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ReadError(f"not a readable Word .docx file ({error})") from None
    except MemoryError:
        # a zip bomb: the sandbox names the memory limit; this is no damaged file
        raise
    except Exception as error:  # python-docx raises bare lxml/opc errors on damaged parts
        raise ReadError(f"damaged Word file: {type(error).__name__}: {error}") from None

    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = " ".join(item.text.split())
            if not text:
                continue
            style = item.style.name if item.style is not None else ""
            match = HEADING_STYLE.match(style or "")
            level = (int(match.group(1) or 1)) if match else None
            blocks.append(Block(text, level))
        elif isinstance(item, Table):
            for row in item.rows:
                cells = [" ".join(cell.text.split()) for cell in row.cells]
                # merged cells repeat their text across the row; keep one copy
                unique = [c for i, c in enumerate(cells) if c and c not in cells[:i]]
                if unique:
                    blocks.append(Block(" | ".join(unique)))
    props = document.core_properties
    meta = DocumentMeta(title=(props.title or "").strip() or None)
    return Document(path=relative_path, pages=[Page(number=1, blocks=blocks)], meta=meta)
