"""The sources list: `corpus/sources.yaml` names documents by URL, each with optional
metadata, and `make sync` (scripts/sync_sources.py) keeps a copy of each in the corpus.

What a fetch learnt (ETag, Last-Modified, the file it went to) is kept in
`corpus/.sources-state.json`; the provenance a build applies (source_url, fetched_at,
etag, and the list's metadata) goes into the file's `.meta/` sidecar, so the document's
citation links to where it was published. Both are hidden, so no build indexes them."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from service.indexing.sidecars import sidecar_path
from service.indexing.uploads import UploadRejected, sanitise_name
from service.store.generations import fsync_dir

SOURCES_FILE = "sources.yaml"
STATE_FILE = ".sources-state.json"
FETCHED_FOLDER = "fetched"  # corpus/fetched/<host>/<name>, unless an entry names its file
ENTRY_KEYS = ("url", "title", "area", "publisher", "published", "type", "file")
EXTENSIONS = {"pdf": ".pdf", "html": ".html"}


class SourcesError(ValueError):
    """The sources list itself is wrong: the message names the entry and the field."""


@dataclass(frozen=True)
class Source:
    url: str
    meta: dict[str, str]  # title, area, publisher, published, type: as the list gives them
    file: str | None = None  # where in the corpus, relative; else a name made from the URL


def load_sources(path: Path) -> list[Source]:
    """The list in `path`; a missing file, or one with every entry commented out, is
    an empty list."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except yaml.YAMLError as error:
        raise SourcesError(f"{path}: not valid YAML: {error}") from None
    if loaded is None:
        return []
    entries = loaded.get("sources") if isinstance(loaded, dict) else loaded
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise SourcesError(f"{path}: `sources` must be a list of entries, each with a url")
    return [parse_entry(entry, number, path) for number, entry in enumerate(entries, start=1)]


def parse_entry(entry: Any, number: int, path: Path) -> Source:
    where = f"{path}: entry {number}"
    if isinstance(entry, str):
        entry = {"url": entry}
    if not isinstance(entry, dict):
        raise SourcesError(f"{where} must be a URL or a mapping with a url")
    unknown = sorted(set(map(str, entry)) - set(ENTRY_KEYS))
    if unknown:
        raise SourcesError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: "
                           f"{', '.join(ENTRY_KEYS)}")
    url = str(entry.get("url") or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourcesError(f"{where}: url must be an http:// or https:// address, not {url!r}")
    meta = {key: str(entry[key]).strip() for key in ENTRY_KEYS[1:6]
            if entry.get(key) is not None and str(entry[key]).strip()}
    file = entry.get("file")
    if file is not None:
        file = safe_relative(str(file), where)
    return Source(url, meta, file)


def safe_relative(raw: str, where: str) -> str:
    """A corpus path from the list: folders allowed, each part sanitised, no `..`."""
    pieces = raw.replace("\\", "/").split("/")
    if raw.startswith("/") or any(piece.strip() in (".", "..") for piece in pieces):
        raise SourcesError(f"{where}: file must be a path inside the corpus, not {raw!r}")
    try:
        parts = [sanitise_name(piece) for piece in pieces if piece.strip()]
    except UploadRejected as error:
        raise SourcesError(f"{where}: file: {error}") from None
    if not parts:
        raise SourcesError(f"{where}: file must be a path inside the corpus, not {raw!r}")
    return "/".join(parts)


def default_name(url: str, kind: str) -> str:
    """corpus/fetched/<host>/<last part of the path>, with the extension the content has;
    a short hash of the URL keeps two addresses with one file name apart."""
    parts = urlsplit(url)
    segment = unquote(parts.path.rstrip("/").rpartition("/")[2]) or "index"
    try:
        name = sanitise_name(segment)
    except UploadRejected:
        name = "document"
    stem = Path(name).stem if Path(name).suffix.lower() in (".pdf", ".html", ".htm") else name
    digest = hashlib.sha256(url.encode()).hexdigest()[:8]
    host = sanitise_name(parts.hostname or "host")
    return f"{FETCHED_FOLDER}/{host}/{stem}-{digest}{EXTENSIONS[kind]}"


class SyncState:
    """What each URL's last fetch learnt, by URL: file, etag, last_modified, fetched_at."""

    def __init__(self, corpus_dir: Path) -> None:
        self.path = corpus_dir / STATE_FILE
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            loaded = {}
        self.entries: dict[str, dict[str, str]] = loaded if isinstance(loaded, dict) else {}

    def get(self, url: str) -> dict[str, str]:
        entry = self.entries.get(url)
        return entry if isinstance(entry, dict) else {}

    def save(self) -> None:
        write_atomically(self.path, json.dumps(self.entries, indent=1, sort_keys=True).encode())


def write_atomically(path: Path, data: bytes) -> None:
    """Write beside `path` and rename over it: a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".sync-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def place(corpus_dir: Path, relative: str, downloaded: Path,
          provenance: Mapping[str, str]) -> None:
    """Put a downloaded file in the corpus: its sidecar first (so no build sees the
    file without its metadata), then the file in one rename."""
    target = corpus_dir / relative
    write_atomically(sidecar_path(corpus_dir, relative),
                     json.dumps(dict(provenance), indent=1).encode())
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(downloaded, 0o644)
    os.replace(downloaded, target)
    fsync_dir(target.parent)


def refresh_metadata(corpus_dir: Path, relative: str, source: Source,
                     validators: Mapping[str, str]) -> None:
    """An unchanged document keeps its sidecar, except for what the list now says about
    it and the newest ETag. (A build reads it when the file next changes, or with --full.)"""
    path = sidecar_path(corpus_dir, relative)
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    if not isinstance(current, dict):
        current = {}
    wanted = {k: v for k, v in current.items() if k not in ENTRY_KEYS[1:6]}
    wanted.update({**source.meta, "source_url": source.url})
    if validators.get("etag"):
        wanted["etag"] = validators["etag"]
    if wanted != current:
        write_atomically(path, json.dumps(wanted, indent=1).encode())


def same_bytes(path: Path, other: Path) -> bool:
    if not path.is_file() or path.stat().st_size != other.stat().st_size:
        return False
    return sha256_of(path) == sha256_of(other)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for piece in iter(lambda: handle.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()
