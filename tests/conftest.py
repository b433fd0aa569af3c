"""Shared fixtures: a clean environment, the real model once per session, and tiny
real indexes built in tmp_path. Also the gate for tests that need a program outside the
virtualenv (Chromium, tesseract): absent, they skip with one loud line; in CI, which sets
PLANSEARCH_REQUIRE_<TOOL>=1, they fail instead."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from paths import BUNDLED_CORPUS, ROOT

from service.embedding.models import SentenceTransformerEmbedder
from service.indexing.build import build_index

# Read at import, i.e. at collection time: the autouse fixture below clears PLANSEARCH_*
# before every test. PLANSEARCH_TEST_CHROMIUM points at a Chromium somewhere else.
CHROMIUM = Path(os.environ.get("PLANSEARCH_TEST_CHROMIUM") or "/usr/bin/chromium")
SCREENSHOT_DIR = ROOT / "test-artifacts"  # git-ignored; `make screenshots` passes docs/


@dataclass(frozen=True)
class ExternalTool:
    """A program that `make install` cannot provide, and the marker of the tests needing it.
    `why_missing` says what is missing and how to install it, or None when all is there."""

    marker: str
    why_missing: Callable[[], str | None]

    @property
    def require_env(self) -> str:
        return f"PLANSEARCH_REQUIRE_{self.marker.upper()}"

    @property
    def required(self) -> bool:
        return os.environ.get(self.require_env, "") not in {"", "0"}


def chromium_missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed; run `make install`"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing; install it with `apt-get install -y chromium`"
    return None


def tesseract_missing() -> str | None:
    if shutil.which("tesseract"):
        return None
    return "`tesseract` is not on PATH; install it with `apt-get install -y tesseract-ocr`"


EXTERNAL_TOOLS = (ExternalTool("browser", chromium_missing),
                  ExternalTool("tesseract", tesseract_missing))
MISSING_TOOLS = pytest.StashKey[dict[str, str]]()  # marker -> the loud line
MUST_FAIL = pytest.StashKey[dict[str, str]]()  # the same, for required tools only


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--screenshot-dir", type=Path, default=SCREENSHOT_DIR,
                     help="where the browser tests save screenshots (`make screenshots`: docs)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip (or, when required, fail) the tests whose program is missing, saying why once."""
    missing: dict[str, str] = {}
    must_fail: dict[str, str] = {}
    for tool in EXTERNAL_TOOLS:
        needing = [item for item in items if item.get_closest_marker(tool.marker)]
        reason = tool.why_missing() if needing else None
        if reason is None:
            continue
        verdict = f"FAIL ({tool.require_env} is set)" if tool.required else "SKIPPED"
        missing[tool.marker] = f"{len(needing)} {tool.marker} test(s) {verdict}: {reason}"
        if tool.required:
            must_fail[tool.marker] = missing[tool.marker]
        else:
            for item in needing:
                item.add_marker(pytest.mark.skip(reason=reason))
    config.stash[MISSING_TOOLS] = missing
    config.stash[MUST_FAIL] = must_fail


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, message in item.config.stash.get(MUST_FAIL, {}).items():
        if item.get_closest_marker(marker):
            pytest.fail(message, pytrace=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for message in terminalreporter.config.stash.get(MISSING_TOOLS, {}).values():
        terminalreporter.write_line(f"!!! {message}", yellow=True, bold=True)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PLANSEARCH_* variable from the developer's shell may leak into a test."""
    for name in list(os.environ):
        if name.startswith("PLANSEARCH_"):
            monkeypatch.delenv(name)


class FakeEmbedder:
    """Deterministic bag-of-words vectors for unit tests that are about something other
    than retrieval quality. Token counts come from the real model's tokenizer."""

    name = "fake-embedder"
    dimension = 64
    max_seq_length = 256

    def __init__(self) -> None:
        self.embedded: list[str] = []
        self._tokenizer = SentenceTransformerEmbedder().tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text).ids)

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for word in text.lower().split():
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "little") % self.dimension] += 1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded.extend(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The Chromium binary for tests marked `browser` (they are skipped when it is missing)."""
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    """One Chromium per module of `browser` tests. Module scope, not session: a test
    that drives its own Playwright (test_admin.py) cannot run inside another's."""
    from browser_support import CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.fixture
def recorder(context: Any) -> Any:
    from browser_support import Recorder

    return Recorder(context)


@pytest.fixture
def page(context: Any, recorder: Any) -> Any:
    return context.new_page()


@pytest.fixture(scope="session")
def screenshot_dir(pytestconfig: pytest.Config) -> Path:
    """Where screenshots go: test-artifacts/ (ignored) unless --screenshot-dir says docs."""
    folder: Path = pytestconfig.getoption("screenshot_dir")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real all-MiniLM-L6-v2, loaded once for the whole session."""
    model = SentenceTransformerEmbedder()
    model.embed_query("warm up")
    return model


@pytest.fixture(scope="session")
def bundled_index(tmp_path_factory: pytest.TempPathFactory,
                  embedder: SentenceTransformerEmbedder) -> Path:
    """The five bundled plans, indexed once with the real model. Read-only for tests."""
    root = tmp_path_factory.mktemp("bundled")
    corpus = root / "corpus"
    shutil.copytree(BUNDLED_CORPUS, corpus)
    build_index(corpus, root / "index", embedder)
    return root


@pytest.fixture(scope="module")
def bundled_searcher(bundled_index: Path, embedder: SentenceTransformerEmbedder) -> Any:
    """A Searcher over the read-only bundled index, one per module (its caches warm)."""
    from service.areas import Gazetteer
    from service.retrieval.search import Searcher
    from service.store import open_store

    store = open_store(bundled_index / "index")
    current = store.current()
    assert current is not None
    return Searcher(store.open(current), embedder, Gazetteer.load())


@pytest.fixture(scope="module")
def app(bundled_index: Path, embedder: SentenceTransformerEmbedder):  # type: ignore[no-untyped-def]
    """The app over the read-only bundled index. One per module shares the searcher's
    caches; modules that need another app define their own `app`."""
    from service import create_app

    return create_app({"INDEX_DIR": str(bundled_index / "index"),
                       "CORPUS_DIR": str(bundled_index / "corpus"), "EMBEDDER": embedder,
                       # API tests send far more than a person would in a minute
                       "RATE_LIMIT_SEARCH": "100000/minute"})


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()
