"""Plansearch: question-answering search over NHS health-and-care plans."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# gRPC (the Milvus client, and Milvus Lite's server thread) re-creates its pollers in
# every forked child unless told not to, and a child forked while the server thread
# polled could abort: on a busy machine beside Milvus Lite, about one parse of a scan in
# three failed, its Tesseract dead of SIGABRT. No forked child of ours talks gRPC (parse
# sandboxes, OCR), so the handlers are off. gRPC reads this once, when it starts: here,
# before any import of it.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

if TYPE_CHECKING:
    from collections.abc import Mapping

    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The Flask app factory (imported lazily so the core never pulls in Flask)."""
    from service.web.app import create_app as factory

    return factory(config)
