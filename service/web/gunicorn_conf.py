"""gunicorn settings for `make run`: preloaded app, a few threaded workers, and each
worker warmed (model and index loaded) before it takes its first request."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from service.config import load_config
from service.embedding import ModelNotAvailable
from service.indexing.sync import start_sync_schedule
from service.indexing.watch import start_watching
from service.store import IndexNotReady

_settings = load_config()

workers = int(_settings["WORKERS"])
threads = int(_settings["THREADS"])
# gthread, except that whole requests are read in the event loop, under a deadline, before
# a thread serves them: slow clients never hold a thread (issue #23, service/web/worker.py)
worker_class = "service.web.worker.WholeRequestWorker"
preload_app = True
timeout = 120
# gunicorn's maximum (its default is 4094). A 1,000-character query of two-byte characters
# percent-encodes to 6,000 bytes; it must reach Flask, which answers an over-long query
# with the JSON error, not gunicorn's HTML 414. Only a GET query of more than about 680
# three- or four-byte characters still meets the 414; POST /api/search has no such limit.
limit_request_line = 8190
graceful_timeout = 30
accesslog = None  # the app logs one line per request itself: method, path, status, ms
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(process)d %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain",
                            "stream": "ext://sys.stderr"}},
    # gunicorn merges this over its own defaults, whose root and access loggers name
    # handlers we replace, so every logger it defines is restated here
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {
        "gunicorn.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "plansearch": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "service": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


def on_starting(server: object) -> None:
    # With the sentence-transformers embedder, import torch once in the master: forked
    # workers share those pages and skip the 6-9 s import. Nothing here starts a thread
    # pool, so forking stays safe. The default ONNX embedder needs no torch at all, and
    # importing it here cost every start 6.5 s.
    if _settings["EMBEDDER"] == "sentence-transformers":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import sentence_transformers  # noqa: F401


def post_worker_init(worker: object) -> None:
    """Load the index and model in each worker before it serves anything."""
    app = worker.wsgi  # type: ignore[attr-defined]
    live = app.extensions["plansearch"]
    try:
        searcher = live.searcher()
        searcher.candidates.query_vector("warm up")
    except (IndexNotReady, ModelNotAvailable) as error:  # the worker still starts; 503s
        worker.log.warning("worker started without a usable index: %s", error)  # type: ignore
    start_watcher(app)
    if float(app.config["SYNC_HOURS"]) > 0 and app.config["JOB_RUNNER_THREAD"]:
        app.extensions["plansearch_sync"] = start_sync_schedule(
            Path(app.config["CORPUS_DIR"]), Path(app.config["INDEX_DIR"]),
            float(app.config["SYNC_HOURS"]))


def start_watcher(app: Flask) -> None:
    """Every worker offers to watch the corpus folder; the one that takes the lock does
    (PLANSEARCH_WATCH). Tests that run jobs step by step never watch."""
    config = app.config
    if config["WATCH"] and config["JOB_RUNNER_THREAD"]:
        app.extensions["plansearch_watch"] = start_watching(
            Path(config["CORPUS_DIR"]), Path(config["INDEX_DIR"]),
            app.extensions["plansearch_jobs"], float(config["WATCH_QUIET_S"]),
            float(config["WATCH_RESCAN_S"]), lambda: indexed_files(app))


def indexed_files(app: Flask) -> dict[str, tuple[int | None, str]] | None:
    """What the live index holds, for the watcher to compare the folder with: each
    document's path, size and SHA-256, and each failed file's (its size is not kept);
    None with no usable index."""
    try:
        generation = app.extensions["plansearch"].searcher().generation
        files: dict[str, tuple[int | None, str]] = {
            f.path: (None, f.sha256) for f in generation.failures()}
        files.update({d.path: (d.size, d.sha256) for d in generation.documents()})
    except IndexNotReady:
        return None
    return files
