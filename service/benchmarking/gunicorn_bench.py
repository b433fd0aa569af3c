"""The project's gunicorn settings, with what the benchmark needs on top.

1. A repair: gunicorn merges `logconfig_dict` over its defaults key by key, so a dict
   whose `handlers` replace gunicorn's but which names no `root` logger leaves the
   default root pointing at the missing "console" handler, and gunicorn exits with
   "Unable to configure root logger". Used only while the project's settings need it.
2. With PLANSEARCH_BENCH_NO_TORCH=1 (the ONNX server), the master skips pre-importing
   sentence-transformers, which only the torch embedder needs.
"""

from __future__ import annotations

import os
from typing import Any

from service import gunicorn_conf as _project
from service.gunicorn_conf import *  # noqa: F403

_project_logging: dict[str, Any] = _project.logconfig_dict

if "root" not in _project_logging and "console" not in _project_logging["handlers"]:
    logconfig_dict = {
        **_project_logging,
        "root": {"level": "WARNING", "handlers": list(_project_logging["handlers"])[:1]},
        "loggers": {**_project_logging["loggers"],
                    "gunicorn.access": {"level": "WARNING", "handlers": [],
                                        "propagate": False}},
    }


def on_starting(server: object) -> None:  # type: ignore[no-redef]
    if os.environ.get("PLANSEARCH_BENCH_NO_TORCH") != "1":
        _project.on_starting(server)


def needed(torch_free: bool = False) -> bool:
    """True while the project's own settings can't serve the benchmark as they are."""
    broken = "root" not in _project_logging and "console" not in _project_logging["handlers"]
    return broken or torch_free
