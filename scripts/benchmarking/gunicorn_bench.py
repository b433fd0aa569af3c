"""The project's gunicorn settings for the ONNX server of the benchmark: the same in
every respect, except that with PLANSEARCH_BENCH_NO_TORCH=1 the master skips
pre-importing sentence-transformers, which only the torch embedder needs."""

from __future__ import annotations

import os

from service.web import gunicorn_conf as _project
from service.web.gunicorn_conf import *  # noqa: F403


def on_starting(server: object) -> None:  # type: ignore[no-redef]
    if os.environ.get("PLANSEARCH_BENCH_NO_TORCH") != "1":
        _project.on_starting(server)


def needed(torch_free: bool = False) -> bool:
    """Whether a server must use these settings instead of the project's own."""
    return torch_free
