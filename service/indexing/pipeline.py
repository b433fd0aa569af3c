"""Reading the next documents while the model encodes the previous ones. Documents are
parsed in the sandbox (a child process), so a reader thread that waits for them costs
the encoder nothing; before this, a build parsed every file and only then started
encoding, and PDF parsing added most of the encoding time again."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from service.areas import Gazetteer
from service.indexing.bounds import Checkpoints
from service.indexing.corpus import CorpusFile
from service.indexing.documents import Document, ReadError
from service.store import FailureRecord

READ_AHEAD = 8  # parsed documents waiting for the encoder, at most
BATCH_CHUNKS = 256  # chunks worth encoding together once that many are waiting
_DONE = object()

ReadFunction = Callable[[Any, str], Document]
Item = Any  # ReadDocument | FailureRecord (build.py's types; imported lazily there)


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


def read_and_embed(files: Sequence[CorpusFile], read_one: Callable[[CorpusFile], Item],
                   embed_batch: Callable[[list[Item], Any], int], checked: Checkpoints,
                   ) -> tuple[list[Item], int]:
    """Read `files` on a thread, in order, and encode what has been read whenever enough
    is waiting or nothing else is ready. Returns (read results in file order, chunks
    embedded). `embed_batch` may replace items of its list (a refused document)."""
    outbox: queue.Queue[Any] = queue.Queue(maxsize=READ_AHEAD)
    stop = threading.Event()
    reader = threading.Thread(target=_read_all, args=(files, read_one, outbox, stop),
                              name="plansearch-reader", daemon=True)
    reader.start()
    results: list[Item] = []
    waiting: list[int] = []  # positions in `results` not yet encoded
    embedded = 0
    try:
        finished = False
        while not finished:
            item = outbox.get()
            finished = item is _DONE
            if isinstance(item, BaseException):
                raise item
            if not finished:
                file, result = item
                results.append(result)
                waiting.append(len(results) - 1)
                checked.document_read(file.relative)
            # about three chunks a page: encode once a slice's worth waits, or at once
            # when the reader has nothing else ready (the encoder would only idle)
            pages = sum(len(results[p].document.pages) for p in waiting
                        if hasattr(results[p], "document"))
            if waiting and (finished or outbox.empty() or pages * 3 >= BATCH_CHUNKS):
                embedded += _embed(results, waiting, embed_batch, checked, embedded)
                waiting = []
    finally:
        stop.set()
        while reader.is_alive() and not outbox.empty():
            outbox.get_nowait()  # never leave the reader blocked on a full queue
    return results, embedded


def _embed(results: list[Item], positions: list[int], embed_batch: Callable[[list[Item], Any],
           int], checked: Checkpoints, before: int) -> int:
    batch = [results[p] for p in positions]
    done = embed_batch(batch, _Offset(checked, before))
    for position, item in zip(positions, batch, strict=True):
        results[position] = item
    return done


def _read_all(files: Sequence[CorpusFile], read_one: Callable[[CorpusFile], Item],
              outbox: queue.Queue[Any], stop: threading.Event) -> None:
    try:
        for file in files:
            if stop.is_set():
                return
            outbox.put((file, read_one(file)))
    except BaseException as error:  # handed to the encoding thread, which raises it
        outbox.put(error)
        return
    outbox.put(_DONE)


def reader_for(read: ReadFunction, make_item: Callable[[CorpusFile, Document, Gazetteer], Item],
               failure: Callable[[CorpusFile, ReadError], FailureRecord]
               ) -> Callable[[CorpusFile], Item]:
    """One file read into a build item, or a failure record."""
    gazetteer = Gazetteer.load()

    def read_one(file: CorpusFile) -> Item:
        try:
            document = read(file.path, file.relative)
        except ReadError as error:
            return failure(file, error)
        return make_item(file, document, gazetteer)

    return read_one

