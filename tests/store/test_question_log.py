"""The question log (issue 26), one contract run on every backend: entries come back as
they were stored, oldest first from a given time; purging deletes only older ones; a
build and its pruning never touch the log; writers in several threads lose nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from milvus_helpers import lite_store

from service.indexing.build import build_index
from service.store import EmbeddedStore, Store
from service.store.question_log import DATABASE, LoggedEntry, QuestionLogUnavailable

FEEDBACK = LoggedEntry("f1", "2026-03-02T09:00:00.000+00:00", "feedback", "Dorset dentistry?",
                       {"area": ["Dorset"]}, "not_found", (7, 8), ("dorset-plan-txt",),
                       helpful=False, reason="not_in_library")
QUESTION = LoggedEntry("q1", "2026-03-01T08:30:00.000+00:00", "chat", "urgent care",
                       {}, "answered", (1,), ("urgent-txt",))
OLD = LoggedEntry("q0", "2025-01-01T00:00:00.000+00:00", "search", "an old question")


@pytest.fixture(params=["embedded", "milvus-lite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "embedded":
        yield EmbeddedStore(tmp_path / "index")
        return
    with lite_store(tmp_path) as milvus:
        yield milvus


def test_entries_come_back_as_stored_oldest_first(store: Store) -> None:
    log = store.question_log()
    assert log.entries("2000-01-01") == []  # nothing yet, and reading creates nothing
    for entry in (FEEDBACK, OLD, QUESTION):
        log.add(entry)
    assert log.entries("2000-01-01") == [OLD, QUESTION, FEEDBACK]
    assert log.entries("2026-03-01T09:00") == [FEEDBACK]


def test_purge_deletes_only_entries_before_the_cutoff(store: Store) -> None:
    log = store.question_log()
    for entry in (OLD, QUESTION, FEEDBACK):
        log.add(entry)
    assert log.purge("2026-01-01") == 1
    assert log.entries("2000-01-01") == [QUESTION, FEEDBACK]
    assert log.purge("2026-01-01") == 0


def test_builds_and_pruning_keep_the_log(store: Store, tmp_path: Path,
                                         fake_embedder: Any) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    store.question_log().add(QUESTION)
    for number in range(3):  # the third build prunes the first generation
        (corpus / f"plan{number}.txt").write_text(f"# Plan {number}\n\nBuses and trains.\n")
        build_index(corpus, store, fake_embedder)
    assert store.published() == ["gen-000003", "gen-000002"]
    assert store.question_log().entries("2000-01-01") == [QUESTION]


def test_concurrent_writers_lose_nothing(store: Store) -> None:
    def write(thread: int) -> None:
        log = store.question_log()  # each request asks the store for it
        for i in range(15):
            log.add(LoggedEntry(f"{thread}-{i}", f"2026-03-01T10:{i:02d}:00.000+00:00",
                                "search", f"question {i} of {thread}"))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = store.question_log().entries("2000-01-01")
    assert sorted(e.id for e in found) == sorted(f"{t}-{i}" for t in range(4) for i in range(15))


def test_an_unwritable_embedded_log_raises_question_log_unavailable(tmp_path: Path) -> None:
    index = tmp_path / "index"
    (index / DATABASE).mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(QuestionLogUnavailable, match="question log"):
        EmbeddedStore(index).question_log().add(QUESTION)


def write_from_a_process(index: Path, process: int) -> None:
    log = EmbeddedStore(index).question_log()
    for i in range(20):
        log.add(LoggedEntry(f"p{process}-{i}", f"2026-03-01T11:{i:02d}:00.000+00:00", "chat",
                            f"question {i} from process {process}"))


def test_forked_workers_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    """gunicorn forks its workers from a process that may already hold a connection:
    each worker must open its own."""
    import multiprocessing

    store = EmbeddedStore(tmp_path / "index")
    store.question_log().add(QUESTION)  # the parent holds a connection before the fork
    fork = multiprocessing.get_context("fork")
    workers = [fork.Process(target=write_from_a_process, args=(tmp_path / "index", n))
               for n in range(3)]
    for worker in workers:
        worker.start()
    store.question_log().add(FEEDBACK)  # the parent writes meanwhile
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    found = {e.id for e in store.question_log().entries("2000-01-01")}
    assert found == {"q1", "f1"} | {f"p{n}-{i}" for n in range(3) for i in range(20)}
