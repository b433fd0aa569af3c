"""Reading untrusted files. For now in-process; every failure becomes a ReadError."""

from __future__ import annotations

from pathlib import Path

from service.documents import Document, ReadError
from service.readers import read_document


def read_document_safely(path: Path, relative: str) -> Document:
    try:
        return read_document(path, relative)
    except ReadError:
        raise
    except RecursionError:
        raise ReadError("file structure too deeply nested to parse") from None
    except MemoryError:
        raise ReadError("file needs too much memory to parse") from None
    except Exception as error:  # a parser bug on odd input must fail the file, not the build
        raise ReadError(f"could not parse: {type(error).__name__}: {error}") from None
