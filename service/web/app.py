"""The Flask app factory."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, request

from service.config import load_config
from service.embedding import make_embedder
from service.retrieval.budget import Slots
from service.retrieval.live import LiveIndex
from service.retrieval.rerank import CrossEncoderReranker
from service.store import open_store
from service.web.access import install_access_controls
from service.web.access_table import SSO
from service.web.errors import install_error_handlers
from service.web.versions import V1_BLUEPRINTS, V1_PREFIX, mark_deprecated

access_log = logging.getLogger("plansearch.access")

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings from defaults, PLANSEARCH_* variables, then `config`."""
    # compare, feedback, insights and takeaway add their routes to the API and admin
    # blueprints on import, so they come before those are registered
    from service.web import (  # noqa: F401
        admin,
        api,
        compare,
        feedback,
        insights,
        library,
        pages,
        question_log,
        signin,
        sso,
        takeaway,
    )

    settings = load_config(config)
    app = Flask(__name__)
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = int(settings["MAX_BODY_KB"]) * 1024
    app.json.sort_keys = False  # type: ignore[attr-defined]
    embedder = make_embedder(settings["EMBEDDER"], settings["MODEL"],
                             batch_size=settings["ENCODE_BATCH"], threads=settings["TORCH_THREADS"])
    reranker = CrossEncoderReranker(settings["RERANKER"]) if settings["RERANKER"] else None
    app.extensions["plansearch"] = LiveIndex(open_store(settings["INDEX_DIR"], settings), embedder,
                                             reranker=reranker,
                                             query_cache_size=settings["QUERY_CACHE"])
    app.extensions["plansearch_chat_slots"] = Slots(int(settings["CHAT_SLOTS"]), "chats")
    question_log.init_app(app)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(api.blueprint, name=V1_BLUEPRINTS["api"], url_prefix=V1_PREFIX)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(library.blueprint)
    install_error_handlers(app)
    app.register_blueprint(signin.blueprint)
    app.register_blueprint(sso.blueprint)
    app.context_processor(signin.template_values)
    admin.init_app(app, install_access_controls(app))
    if app.extensions["plansearch_access"].mode == SSO:
        sso.init_sso(app)

    app.after_request(mark_deprecated)

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        access_log.info("%s %s %s %.1fms", request.method, request.path, response.status_code,
                        elapsed)
        return response

    return app

