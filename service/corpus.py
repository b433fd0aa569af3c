"""Finding the corpus files and fingerprinting them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from service.documents import sha256_file


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    relative: str  # forward slashes, relative to the corpus folder
    sha256: str
    size: int


def scan_corpus(corpus_dir: Path) -> list[CorpusFile]:
    """Every regular file under the corpus, skipping hidden files and folders (such as
    `.deleted/`, where removed documents wait to be restored)."""
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {corpus_dir}")
    files = []
    for path in sorted(corpus_dir.rglob("*")):
        relative = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.is_symlink():
            continue  # a link could point outside the corpus
        files.append(CorpusFile(path, relative.as_posix(), sha256_file(path), path.stat().st_size))
    return files
