"""Reading the next documents while the model encodes the previous ones. Documents are
parsed in the sandbox (a child process), so a reader thread that waits for them costs
the encoder nothing; before this, a build parsed every file and only then started
encoding, and PDF parsing added most of the encoding time again."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence

from service.areas import Gazetteer
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
                   embed_batch: EmbedBatch, checked: Checkpoints,
                   ) -> tuple[list[ReadResult], int]:
    """Read `files` on a thread, in order, and encode what has been read whenever enough
    is waiting or nothing else is ready. Returns (read results in file order, chunks
    embedded). `embed_batch` may replace items of its list (a refused document)."""
    outbox: queue.Queue[Message] = queue.Queue(maxsize=READ_AHEAD)
    stop = threading.Event()
    reader = threading.Thread(target=_read_all, args=(files, read_one, outbox, stop),
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
              outbox: queue.Queue[Message], stop: threading.Event) -> None:
    try:
        for file in files:
            if stop.is_set():
                return
            outbox.put((file, read_one(file)))
    except BaseException as error:  # handed to the encoding thread, which raises it
        outbox.put(error)
        return
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

