"""What the browser tests share: the app served on loopback, Chromium's flags, a recorder
of requests and console errors, and whole-page screenshots. The fixtures built on these
(`browser`, `context`, `recorder`, `page`) are in conftest.py."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from werkzeug.serving import make_server

from service.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

# Without the background-networking flags Chromium dials Google's hosts at start-up.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ANSWER_TIMEOUT_MS = 30_000


class LiveServer:
    """The app on an ephemeral loopback port, in a background thread."""

    def __init__(self, app: Any) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.netloc = urlsplit(self.url).netloc
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


def serve(root: Path, embedder: Any) -> LiveServer:
    return LiveServer(create_app({"INDEX_DIR": str(root / "index"),
                                  "CORPUS_DIR": str(root / "corpus"), "EMBEDDER": embedder}))


class Recorder:
    """Every request the browser makes, and every console error or uncaught exception
    (a CSP violation shows up as a console error)."""

    def __init__(self, context: BrowserContext) -> None:
        self.urls: list[str] = []
        self.problems: list[str] = []
        context.on("request", lambda request: self.urls.append(request.url))
        context.on("page", self.watch)

    def watch(self, page: Page) -> None:
        page.on("console", lambda msg: msg.type == "error" and self.problems.append(msg.text))
        page.on("pageerror", lambda error: self.problems.append(str(error)))

    def foreign(self, netloc: str) -> list[str]:
        return [url for url in self.urls if urlsplit(url).netloc != netloc]


def whole_page_screenshot(page: Page, path: Path, width: int) -> None:
    """The whole page, with the sticky question box at its foot rather than floating
    where the first screenful ended (which is what full_page=True gives)."""
    page.set_viewport_size({"width": width, "height": 800})
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": width, "height": height})
    page.screenshot(path=str(path))
