"""A Word file that is a zip bomb fails as too large for the parsing memory limit, as a
PDF bomb does, not as a damaged file (issue 23: it said "damaged Word file:
MemoryError")."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from pdf_factory import make_docx

from service.indexing.documents import ReadError
from service.indexing.sandbox import ParseLimits, read_document_safely

MIB = 1024 * 1024


def make_docx_bomb(path: Path, source: Path, expanded_mib: int) -> Path:
    """A real Word file whose document.xml body is `expanded_mib` MiB of spaces: about a
    thousandth of that on disk."""
    with zipfile.ZipFile(source) as original, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename != "word/document.xml":
                bomb.writestr(item, data)
                continue
            head, tail = data.split(b"<w:body>")
            entry = zipfile.ZipInfo(item.filename)
            entry.compress_type = zipfile.ZIP_DEFLATED
            with bomb.open(entry, "w", force_zip64=True) as out:
                out.write(head + b"<w:body>")
                for _ in range(expanded_mib):
                    out.write(b" " * MIB)
                out.write(tail)
    return path


def test_a_docx_bomb_fails_on_the_memory_limit(tmp_path: Path) -> None:
    bomb = make_docx_bomb(tmp_path / "bomb.docx", make_docx(tmp_path / "plan.docx"),
                          expanded_mib=512)
    assert bomb.stat().st_size < MIB
    with pytest.raises(ReadError) as refused:
        read_document_safely(bomb, "bomb.docx", ParseLimits(timeout_s=60, memory_mb=256))
    assert str(refused.value) == ("too large to parse: the file needs more than 256 MiB "
                                  "(limit: PLANSEARCH_PARSE_MEMORY_MB)")


def test_the_same_file_without_the_bomb_reads(tmp_path: Path) -> None:
    document = read_document_safely(make_docx(tmp_path / "plan.docx"), "plan.docx",
                                    ParseLimits(timeout_s=60, memory_mb=256))
    assert document.pages[0].blocks
