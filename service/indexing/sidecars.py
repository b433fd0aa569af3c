"""Upload metadata beside the corpus: `.meta/<relative path>.json` holds the title, area
and the rest given with an upload, and a build applies it over what the reader found."""

from __future__ import annotations

import json
from pathlib import Path

from service.indexing.documents import Document

META_KEYS = ("title", "area", "source_url", "publisher", "published", "type")
SIDECARS = ".meta"


def sidecar_path(corpus_dir: Path, relative: str) -> Path:
    return corpus_dir / SIDECARS / f"{relative}.json"


def read_sidecar(corpus_dir: Path, relative: str) -> dict[str, str]:
    try:
        values = json.loads(sidecar_path(corpus_dir, relative).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(values, dict):
        return {}
    return {key: str(values[key]) for key in META_KEYS if values.get(key)}


def apply_sidecar(document: Document, corpus_dir: Path, relative: str) -> Document:
    """Upload metadata wins over what the reader found in the file."""
    for key, value in read_sidecar(corpus_dir, relative).items():
        setattr(document.meta, key, value)
    return document
