"""Finding the corpus files and fingerprinting them."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from service.indexing.documents import sha256_file


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    relative: str  # forward slashes, relative to the corpus folder
    sha256: str
    size: int


# Files in the corpus folder's root that describe the collection rather than belong to
# it. A `.plansearchignore` file there adds more patterns, one glob per line.
HOUSEKEEPING = ("readme*", "sources*", "license*", "licence*", "changelog*")
IGNORE_FILE = ".plansearchignore"


def ignore_patterns(corpus_dir: Path) -> list[str]:
    patterns = list(HOUSEKEEPING)
    ignore_file = corpus_dir / IGNORE_FILE
    if ignore_file.is_file():
        for line in ignore_file.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                patterns.append(line.strip())
    return patterns


def ignored(relative: Path, patterns: list[str]) -> bool:
    name = relative.as_posix().lower()
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern in HOUSEKEEPING and len(relative.parts) > 1:
            continue  # housekeeping names only count in the root
        if fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(relative.name.lower(), pattern):
            return True
    return False


def corpus_paths(corpus_dir: Path) -> Iterator[tuple[Path, str]]:
    """(path, relative) of every file a build reads, sorted: regular files under the
    corpus, skipping hidden files and folders (such as `.deleted/`, where removed
    documents wait to be restored), the root's README, SOURCES and LICENSE files, and
    anything `.plansearchignore` lists."""
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {corpus_dir}")
    patterns = ignore_patterns(corpus_dir)
    for path in sorted(corpus_dir.rglob("*")):
        relative = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if ignored(relative, patterns):
            continue
        if path.is_symlink():
            continue  # a link could point outside the corpus
        yield path, relative.as_posix()


def scan_corpus(corpus_dir: Path) -> list[CorpusFile]:
    """Every file a build reads (see `corpus_paths`), fingerprinted."""
    return [CorpusFile(path, relative, sha256_file(path), path.stat().st_size)
            for path, relative in corpus_paths(corpus_dir)]
