"""Reading the next documents while the model encodes the previous ones. Documents are
parsed in the sandbox (a child process), so a reader thread that waits for them costs
the encoder nothing; before this, a build parsed every file and only then started
encoding, and PDF parsing added most of the encoding time again."""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from service.areas import Gazetteer
from service.config import load_config
from service.indexing.corpus import CorpusFile
from service.indexing.documents import Document, ReadError
from service.indexing.progress import (
    BuildProgress,
    Checkpoints,
    DocumentReader,
    ReadDocument,
    ReadResult,
)
from service.store import FailureRecord

READ_AHEAD = 8  # parsed documents waiting for the encoder, at most
BATCH_CHUNKS = 256  # chunks worth encoding together once that many are waiting


def reader_count(setting: int | None = None) -> int:
    """Files parsed at once (PLANSEARCH_BUILD_READERS; 0 = one per two cores, at least
    two). Each reader waits on its own sandboxed child. Parsing a PDF costs about as much
    CPU as encoding its chunks, so half the cores parse; on 2 cores two readers beside the
    encoder's two threads built the shared PDFs and development sets 9% faster than one
    (BENCHMARKS.md, "Build throughput", issue 27)."""
    wanted = int(load_config()["BUILD_READERS"]) if setting is None else setting
    return wanted if wanted > 0 else max(2, (os.cpu_count() or 1) // 2)


class _Done:
    """The reader thread's last message: every file has been read."""


# what the reader thread hands the encoding thread
Message = tuple[CorpusFile, ReadResult] | BaseException | _Done
EmbedBatch = Callable[[list[ReadResult], BuildProgress], int]


class _Offset:
    """Encoding progress of one batch, told as progress of the whole build so far."""

    def __init__(self, checked: Checkpoints, before: int) -> None:
        self.checked, self.before = checked, before

    def planned(self, documents: int) -> None:
        pass

    def document_read(self, relative: str) -> None:
        pass

    def chunks_embedded(self, done: int, total: int) -> None:
        self.checked.chunks_embedded(self.before + done, self.before + total)


def read_and_embed(files: Sequence[CorpusFile], read_one: Callable[[CorpusFile], ReadResult],
                   embed_batch: EmbedBatch, checked: Checkpoints, readers: int | None = None,
                   ) -> tuple[list[ReadResult], int]:
    """Read `files` on a thread (`readers` of them at once), in order, and encode what has
    been read whenever enough is waiting or nothing else is ready. Returns (read results
    in file order, chunks embedded). `embed_batch` may replace items of its list (a
    refused document)."""
    outbox: queue.Queue[Message] = queue.Queue(maxsize=READ_AHEAD)
    stop = threading.Event()
    reader = threading.Thread(target=_read_all,
                              args=(files, read_one, outbox, stop, reader_count(readers)),
                              name="plansearch-reader", daemon=True)
    reader.start()
    results: list[ReadResult] = []
    waiting: list[int] = []  # positions in `results` not yet encoded
    embedded = 0
    try:
        finished = False
        while not finished:
            message = outbox.get()
            finished = isinstance(message, _Done)
            if isinstance(message, BaseException):
                raise message
            if not isinstance(message, _Done):
                file, result = message
                results.append(result)
                waiting.append(len(results) - 1)
                checked.document_read(file.relative)
            # about three chunks a page: encode once a slice's worth waits, or at once
            # when the reader has nothing else ready (the encoder would only idle)
            pages = sum(len(read.document.pages) for read in (results[p] for p in waiting)
                        if isinstance(read, ReadDocument))
            if waiting and (finished or outbox.empty() or pages * 3 >= BATCH_CHUNKS):
                embedded += _embed(results, waiting, embed_batch, checked, embedded)
                waiting = []
    finally:
        stop.set()
        while reader.is_alive() and not outbox.empty():
            outbox.get_nowait()  # never leave the reader blocked on a full queue
    return results, embedded


def _embed(results: list[ReadResult], positions: list[int], embed_batch: EmbedBatch,
           checked: Checkpoints, before: int) -> int:
    batch = [results[p] for p in positions]
    done = embed_batch(batch, _Offset(checked, before))
    for position, item in zip(positions, batch, strict=True):
        results[position] = item
    return done


def _read_all(files: Sequence[CorpusFile], read_one: Callable[[CorpusFile], ReadResult],
              outbox: queue.Queue[Message], stop: threading.Event, readers: int) -> None:
    """Hand the encoder each file's result in file order, with up to `readers` files being
    parsed at any moment (a sliding window, so memory stays bounded by the window and
    the outbox however long the list)."""
    upcoming = iter(files)
    window: deque[tuple[CorpusFile, Future[ReadResult]]] = deque()
    with ThreadPoolExecutor(readers, thread_name_prefix="plansearch-reader") as pool:
        try:
            while True:
                while len(window) < readers and (file := next(upcoming, None)) is not None:
                    window.append((file, pool.submit(read_one, file)))
                if not window or stop.is_set():
                    break
                file, future = window.popleft()
                outbox.put((file, future.result()))
        except BaseException as error:  # handed to the encoding thread, which raises it
            outbox.put(error)
            return
        finally:
            for _, waiting in window:
                waiting.cancel()
    if not stop.is_set():
        outbox.put(_Done())


def reader_for(read: DocumentReader,
               make_item: Callable[[CorpusFile, Document, Gazetteer], ReadDocument],
               failure: Callable[[CorpusFile, ReadError], FailureRecord]
               ) -> Callable[[CorpusFile], ReadResult]:
    """One file read into a build item, or a failure record."""
    gazetteer = Gazetteer.load()

    def read_one(file: CorpusFile) -> ReadResult:
        try:
            document = read(file.path, file.relative)
        except ReadError as error:
            return failure(file, error)
        return make_item(file, document, gazetteer)

    return read_one

