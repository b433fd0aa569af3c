"""Taking files into the corpus: content sniffing, safe names, atomic writes, metadata
sidecars and the `.deleted/` folder. Flask-free: the admin blueprint calls these."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from service.indexing.documents import document_id
from service.indexing.formats import EXTENSIONS
from service.indexing.sidecars import META_KEYS, SIDECARS, sidecar_path
from service.store.disk import free_bytes, full_message, is_disk_full
from service.store.generations import fsync_dir

# EXTENSIONS: what a reader accepts for each detected type; the first is used when the
# uploaded name's extension doesn't match the content.
SIGNATURES = ((b"%PDF-", "pdf"), (b"PK\x03\x04", "zip"), (b"\x89PNG", "png"),
              (b"\xff\xd8\xff", "jpeg"), (b"GIF8", "gif"),
              (b"\xd0\xcf\x11\xe0", "ole2 (old .doc/.xls)"),
              (b"\x1f\x8b", "gzip"), (b"%!PS", "postscript"), (b"{\\rtf", "rtf"),
              (b"\x7fELF", "executable (ELF)"), (b"MZ", "executable (Windows)"))
HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)
DELETED = ".deleted"
MAX_NAME = 120
FILE_MODE = 0o644  # mkstemp's 0600 would hide uploads from everyone but the server's user
CHUNK = 1 << 20


class UploadRejected(Exception):
    """The upload can't be accepted; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass
class StagedFile:
    """An upload written to a hidden temporary file inside the corpus folder."""

    temporary: Path
    original_name: str
    name: str  # the sanitised corpus-relative name it will get
    kind: str
    sha256: str
    size: int

    @property
    def document_id(self) -> str:
        return document_id(self.name)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "document_id": self.document_id, "type": self.kind,
                "sha256": self.sha256, "size": self.size}


def sniff(path: Path) -> str:
    """The file's type from its bytes: pdf, docx, html, text, or what else it looks like."""
    with path.open("rb") as handle:
        head = handle.read(8192)
    if not head:
        return "empty"
    for signature, kind in SIGNATURES:
        if head.startswith(signature):
            if kind == "zip":
                return "docx" if is_docx(path) else "zip"
            return kind
    if HTML_START.match(head.lstrip(b"\xef\xbb\xbf")):
        return "html"  # the HTML reader also copes with Windows-1252 pages
    return "text" if is_utf8(path) else "binary"


def is_docx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def is_utf8(path: Path) -> bool:
    """Strict UTF-8 and no NUL bytes, checked incrementally over the whole file."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            for piece in iter(lambda: handle.read(CHUNK), b""):
                if b"\x00" in piece:
                    return False
                decoder.decode(piece)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def sanitise_name(raw: str) -> str:
    """A plain file name with no folders, no leading dot and no control characters. Both
    `/` and `\\` count as separators, so `../../x.pdf` and `..\\x.pdf` become `x.pdf`."""
    parts = [p for p in unicodedata.normalize("NFKC", raw or "").replace("\\", "/").split("/")
             if p.strip()]
    name = parts[-1] if parts else ""
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")  # NUL, controls
    name = re.sub(r"[^\w.\- ()]+", "-", name).strip()
    name = re.sub(r"\s+", "-", name)
    name = re.sub(r"\.{2,}", ".", name).lstrip(".-_ ")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = stem.rstrip(".-_ ")[: MAX_NAME - len(suffix) - 1] if stem else ""
    if not stem:
        raise UploadRejected(400, f"file name {raw!r} has nothing usable in it; rename the file",
                             "invalid_name")
    return f"{stem}.{suffix}" if suffix else stem


def name_for(raw: str, kind: str) -> str:
    """The sanitised name, with an extension that matches the detected content."""
    name = sanitise_name(raw)
    allowed = EXTENSIONS[kind]
    if Path(name).suffix.lower() in allowed:
        return name
    stem = Path(name).stem if Path(name).suffix.lower() in {e for v in EXTENSIONS.values()
                                                           for e in v} else name
    return f"{stem}{allowed[0]}"


def stage(stream: IO[bytes], original_name: str, corpus_dir: Path) -> StagedFile:
    """Copy an upload into a hidden temporary file in the corpus and identify it."""
    written: list[str] = []
    digest, size = hashlib.sha256(), 0
    with refused_when_full(corpus_dir, original_name, written):
        corpus_dir.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=corpus_dir)
        written.append(temporary)
        os.fchmod(handle, FILE_MODE)
        with os.fdopen(handle, "wb") as out:
            for piece in iter(lambda: stream.read(CHUNK), b""):
                digest.update(piece)
                size += len(piece)
                out.write(piece)
            out.flush()
            os.fsync(out.fileno())
        kind = sniff(Path(temporary))
        if kind not in EXTENSIONS:
            raise UploadRejected(415, f"{original_name or 'the file'}: detected type {kind!r}; "
                                      "upload PDF, Word .docx, HTML or UTF-8 text")
        name = name_for(original_name, kind)
    return StagedFile(Path(temporary), original_name, name, kind, digest.hexdigest(), size)


@contextmanager
def refused_when_full(folder: Path, name: str, written: list[str]) -> Iterator[None]:
    """Remove the files `written` if the block fails; for lack of space, answer 507."""
    try:
        yield
    except BaseException as error:
        for path in written:
            Path(path).unlink(missing_ok=True)
        if isinstance(error, OSError) and is_disk_full(error):
            raise UploadRejected(507, f"{name or 'the file'}: " + full_message(
                free_bytes(folder), "free some space there and upload again; nothing was "
                "written", "disk holding the corpus folder"), "insufficient_storage") from None
        raise


@contextmanager
def intake_lock(path: Path) -> Iterator[None]:
    """Held while an upload decides what is a duplicate and takes its names, so two
    uploads of the same bytes can't both find nothing and both be stored. flock works
    across gunicorn's worker processes, and between threads too, since each holder opens
    the file afresh; the kernel releases it if the holder dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def discard(staged: Iterable[StagedFile]) -> None:
    for item in staged:
        item.temporary.unlink(missing_ok=True)


def corpus_ids(corpus_dir: Path) -> dict[str, str]:
    """document id -> relative path for every visible file in the corpus."""
    found = {}
    for path in corpus_dir.rglob("*"):
        relative = path.relative_to(corpus_dir)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            found[document_id(relative.as_posix())] = relative.as_posix()
    return found


def check_collisions(staged: list[StagedFile], corpus_dir: Path, replace: bool) -> None:
    """409 when a name (or the document id it maps to) is taken, unless replacing it."""
    existing = corpus_ids(corpus_dir)
    seen: set[str] = set()
    for item in staged:
        if item.document_id in seen:
            raise UploadRejected(409, f"two uploaded files would both be named {item.name!r}",
                                 "name_conflict")
        seen.add(item.document_id)
        taken = existing.get(item.document_id)
        if taken is None:
            continue
        if taken != item.name:
            raise UploadRejected(409, f"{item.name!r} would get the same document id as the "
                                      f"existing {taken!r}; rename the file", "name_conflict")
        if not replace:
            raise UploadRejected(409, f"a document named {item.name!r} already exists (id "
                                      f"{item.document_id}); send replace=true to replace it",
                                 "name_conflict")


def commit(item: StagedFile, corpus_dir: Path, replace: bool, meta: Mapping[str, str]) -> Path:
    """Move a staged file into place in one rename. Without `replace` an existing file is
    never overwritten, even by a racing upload of the same name (link fails instead)."""
    target = corpus_dir / item.name
    if target.resolve().parent != corpus_dir.resolve():  # belt and braces over sanitise_name
        raise UploadRejected(400, f"refusing to write outside the corpus: {item.name!r}")
    write_sidecar(corpus_dir, item.name, meta)  # before the file, so no build sees it bare
    if replace:
        os.replace(item.temporary, target)
    else:
        try:
            os.link(item.temporary, target)
        except FileExistsError:
            raise UploadRejected(409, f"a document named {item.name!r} already exists; send "
                                      "replace=true to replace it", "name_conflict") from None
        item.temporary.unlink()
    fsync_dir(corpus_dir)
    return target


def write_sidecar(corpus_dir: Path, relative: str, meta: Mapping[str, str]) -> None:
    """Metadata given with an upload lives beside the corpus, never inside the file."""
    path = sidecar_path(corpus_dir, relative)
    values = {key: meta[key] for key in META_KEYS if meta.get(key)}
    if not values:
        path.unlink(missing_ok=True)  # a replaced file brings its own metadata
        return
    written: list[str] = []
    with refused_when_full(corpus_dir, relative, written):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".meta-", dir=path.parent)
        written.append(temporary)
        os.fchmod(handle, FILE_MODE)
        with os.fdopen(handle, "w") as out:
            json.dump(values, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)


def withdraw(corpus_dir: Path, names: Iterable[str]) -> None:
    """Remove just-committed uploads, and their sidecars, whose job could not be recorded."""
    for name in names:
        (corpus_dir / name).unlink(missing_ok=True)
        sidecar_path(corpus_dir, name).unlink(missing_ok=True)
    fsync_dir(corpus_dir)


def move_to_deleted(corpus_dir: Path, relative: str) -> Path:
    """Move a corpus file (and its sidecar) into `.deleted/`, keeping its folders, so a
    deletion is undone by moving it back. An earlier deleted copy is never overwritten."""
    source = corpus_dir / relative
    target = corpus_dir / DELETED / relative
    if target.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = target.with_name(f"{target.stem}.{stamp}{target.suffix}")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    sidecar = sidecar_path(corpus_dir, relative)
    if sidecar.exists():
        kept = corpus_dir / DELETED / SIDECARS / f"{target.relative_to(corpus_dir / DELETED)}.json"
        kept.parent.mkdir(parents=True, exist_ok=True)
        os.replace(sidecar, kept)
    fsync_dir(source.parent)
    return target
