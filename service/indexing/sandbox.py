"""Parsing untrusted files in a throwaway child process, so that a PDF bomb, a parser
that never finishes or one that crashes costs that one file and nothing else.

Each file is read in a forked child with an address-space limit (`setrlimit`), a
wall-time limit (the parent kills the child) and a page cap.

The build forks while ONNX Runtime's threads encode the files read before (pipeline.py),
and a forked child holds only the thread that forked it. That is safe because the child
touches nothing those threads may hold: the parsers are imported before the fork, the
child never calls the model, and it leaves with `os._exit`, so no destructor runs.
`tests/test_sandbox.py` checks it with 300 reads against a busy encoder (issue 24).

A forkserver forks less memory and was cheaper still for small files (BENCHMARKS.md),
but on Python 3.11 its preloads ignore the parent's sys.path, every child re-runs the
main script (all of scripts/build_index.py's imports, a file), and a read function must
pickle; worth measuring again when the Python floor moves.
"""

from __future__ import annotations

import ctypes
import faulthandler
import gc
import multiprocessing
import os
import resource
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from service.config import load_config
from service.indexing.documents import Document, ReadError
from service.indexing.progress import DocumentReader
from service.indexing.sidecars import apply_sidecar

MIB = 1024 * 1024
_forking = threading.Lock()  # one fork at a time: the gc freeze below is process-wide


@dataclass(frozen=True)
class ParseLimits:
    timeout_s: float = 180.0
    memory_mb: int = 1024
    max_pages: int = 2000

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ParseLimits:
        return cls(timeout_s=float(config["PARSE_TIMEOUT_S"]),
                   memory_mb=int(config["PARSE_MEMORY_MB"]),
                   max_pages=int(config["PARSE_MAX_PAGES"]))


SandboxedRead = Callable[[Path, str, ParseLimits], Document]


def read_with_page_cap(path: Path, relative: str, limits: ParseLimits) -> Document:
    """`read_document`, with the PDF reader's page cap set from the limits."""
    from service.indexing.readers import read_document
    from service.indexing.readers.pdf import read_pdf

    if path.suffix.lower() != ".pdf" or path.stat().st_size == 0:
        return read_document(path, relative)
    document = read_pdf(path, relative, max_pages=limits.max_pages)
    if not any(block.text.strip() for page in document.pages for block in page.blocks):
        raise ReadError("no text found in the file")
    return document


def parse_in_sandbox(path: Path, relative: str, limits: ParseLimits,
                     read: SandboxedRead = read_with_page_cap) -> Document:
    """Read one file in a child process; any failure of the child is a ReadError."""
    # Imported here, before the fork, so that no child imports a module: an import in
    # the child could wait for ever on a module lock some other thread of ours held
    # when it forked, and importing the parsers took each child ~110 ms.
    import service.indexing.readers  # noqa: F401

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child_main,
                            args=(sender, read, path, relative, limits, os.getpid()),
                            name=f"parse {relative}", daemon=True)
    _start_frozen(child)
    sender.close()  # so that recv() sees EOF if the child dies without answering
    try:
        if not receiver.poll(limits.timeout_s):
            raise ReadError(f"parsing took longer than {limits.timeout_s:g} s and was stopped "
                            "(limit: PLANSEARCH_PARSE_TIMEOUT_S)")
        try:
            outcome, payload = receiver.recv()
        except EOFError:
            child.join(10)
            with _forking:  # see below: its exit code may be a fork's poll away
                exitcode = child.exitcode
            raise ReadError(exit_reason(exitcode, limits)) from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
        # Each fork (Process.start) polls every live child, in whichever reader thread
        # forks. If that poll reaps this child, our join returns before the exit code is
        # stored and close() would call it still running. Forks hold _forking, so by the
        # time we hold it, any such poll has finished and stored the code.
        with _forking:
            child.close()
    if outcome == "error":
        raise ReadError(payload)
    document: Document = payload
    return document


def _start_frozen(child: multiprocessing.process.BaseProcess) -> None:
    """Fork with the garbage collector's view of every existing object frozen, so the
    child never collects the parent's garbage. A collection in the child once ran the
    destructor of an unreachable ONNX Runtime session, which waited for ever on a
    condition variable a parent thread had held at the fork (issue 27's throughput run).
    The parent's objects return to the collector as soon as the child has started."""
    with _forking:
        gc.freeze()
        try:
            child.start()
        finally:
            gc.unfreeze()


def exit_reason(exitcode: int | None, limits: ParseLimits) -> str:
    """A one-line reason for a child that died without answering."""
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        if name in {"SIGKILL", "SIGABRT"}:
            return (f"the parser was killed ({name}); the file probably needs more than "
                    f"{limits.memory_mb} MiB to parse (limit: PLANSEARCH_PARSE_MEMORY_MB)")
        return f"the parser crashed on this file ({name})"
    return f"the parser exited unexpectedly (status {exitcode})"


def _virtual_memory_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * resource.getpagesize()


def _limit_memory(limits: ParseLimits) -> None:
    # The child inherits the parent's mappings (a test process may hold torch), so the
    # allowance is on top of what is already mapped rather than an absolute ceiling.
    ceiling = _virtual_memory_bytes() + limits.memory_mb * MIB
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crashing parser leaves no core file


def _die_with_parent(parent: int) -> None:
    # The child shares the builder's build.lock; if the builder is killed, a child stuck
    # in a pathological file must not live on holding that lock.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _child_main(sender: Connection, read: SandboxedRead, path: Path, relative: str,
                limits: ParseLimits, parent: int) -> None:
    faulthandler.disable()  # a crash is reported as the file's reason, not as a dump
    try:
        _die_with_parent(parent)
        _limit_memory(limits)
        sender.send(("ok", read(path, relative, limits)))
    except ReadError as error:
        sender.send(("error", str(error)))
    except MemoryError:
        sender.send(("error", f"too large to parse: the file needs more than "
                              f"{limits.memory_mb} MiB (limit: PLANSEARCH_PARSE_MEMORY_MB)"))
    except RecursionError:
        sender.send(("error", "file structure too deeply nested to parse"))
    except Exception as error:  # a parser bug on odd input must fail the file, not the build
        sender.send(("error", f"could not parse: {type(error).__name__}: {error}"))
    finally:
        sender.close()


# --- what the build calls -----------------------------------------------------------
LINK_SCHEMES = {"http", "https"}


def read_document_safely(path: Path, relative: str, limits: ParseLimits | None = None) -> Document:
    """Read one file in a sandbox; limits default to the PLANSEARCH_PARSE_* settings."""
    document = parse_in_sandbox(path, relative, limits or ParseLimits.from_config(load_config()))
    return drop_unsafe_link(document)


def drop_unsafe_link(document: Document) -> Document:
    """Front matter may say `source_url: javascript:...`; pages link to it, so keep only
    http(s) addresses."""
    url = (document.meta.source_url or "").strip()
    if url and urlsplit(url).scheme.lower() not in LINK_SCHEMES:
        document.meta.source_url = None
        document.warnings.append(f"source_url ignored: only http and https links are kept "
                                 f"(got {url[:60]!r})")
    return document


def corpus_reader(corpus_dir: Path, limits: ParseLimits | None = None) -> DocumentReader:
    """The build's reader: sandboxed, with upload metadata (`.meta/` sidecars) applied."""
    limits = limits or ParseLimits.from_config(load_config())

    def read(path: Path, relative: str) -> Document:
        return apply_sidecar(read_document_safely(path, relative, limits), corpus_dir, relative)

    return read
