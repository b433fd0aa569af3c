"""gunicorn's worker hook loads the index and warms the model before a worker serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.web import gunicorn_conf
from service.web.app import create_app


class Log:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, *args: Any) -> None:
        self.warnings.append(message % args)


class Worker:
    def __init__(self, app: Any) -> None:
        self.wsgi, self.log = app, Log()


def test_a_worker_warms_up_on_a_built_index(bundled_index: Path, embedder: Any) -> None:
    app = create_app({"INDEX_DIR": str(bundled_index / "index"),
                      "CORPUS_DIR": str(bundled_index / "corpus"), "EMBEDDER": embedder,
                      "WATCH": False})
    worker = Worker(app)
    gunicorn_conf.post_worker_init(worker)
    assert worker.log.warnings == []
    searcher = app.extensions["plansearch"].searcher()
    assert searcher.candidates._queries.fetch("warm up") is not None  # the model ran once


def test_a_worker_without_an_index_starts_and_says_why(tmp_path: Path,
                                                       fake_embedder: Any) -> None:
    app = create_app({"INDEX_DIR": str(tmp_path / "index"), "CORPUS_DIR": str(tmp_path),
                      "EMBEDDER": fake_embedder, "WATCH": False})
    worker = Worker(app)
    gunicorn_conf.post_worker_init(worker)
    assert len(worker.log.warnings) == 1
    assert worker.log.warnings[0].startswith("worker started without a usable index: no index")


def test_a_worker_offers_to_watch_the_corpus_unless_told_not_to(tmp_path: Path,
                                                                fake_embedder: Any) -> None:
    """PLANSEARCH_WATCH (issue 27): on by default under gunicorn, off with 0, and never
    where jobs run step by step (the tests' JOB_RUNNER_THREAD=False)."""
    settings = {"INDEX_DIR": str(tmp_path / "index"), "CORPUS_DIR": str(tmp_path),
                "EMBEDDER": fake_embedder}
    for config, watching in [({}, True), ({"WATCH": False}, False),
                             ({"JOB_RUNNER_THREAD": False}, False)]:
        app = create_app({**settings, **config})
        gunicorn_conf.post_worker_init(Worker(app))
        assert ("plansearch_watch" in app.extensions) == watching
        if watching:
            app.extensions["plansearch_watch"].set()  # stop its thread
