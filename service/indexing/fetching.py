"""Fetching the sources list's documents politely: robots.txt honoured, a delay between
two requests to one host, conditional requests (If-None-Match, If-Modified-Since), and a
size and time limit on each download. Each URL succeeds or fails with a reason of its
own; nothing one URL does stops the rest."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import requests

log = logging.getLogger(__name__)

USER_AGENT = "Plansearch-sync/1"
MIB = 1024 * 1024
HTML_TYPES = {"text/html", "application/xhtml+xml"}
MAX_REDIRECTS = 10


class FetchFailed(Exception):
    """One URL could not be fetched; the message is the reason the report gives."""


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 30.0  # to connect, and between two reads
    deadline_s: float = 300.0  # for a whole download
    max_bytes: int = 50 * MIB
    delay_s: float = 1.0  # between two requests to one host


@dataclass
class Download:
    status: int  # 200, or 304 (unchanged since the validators we sent)
    path: Path | None = None  # the body, in a temporary file
    kind: str | None = None  # pdf or html
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None  # after redirects


class Politeness:
    """robots.txt, read once per host, and the per-host delay between requests."""

    def __init__(self, session: requests.Session, limits: Limits,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.session, self.limits, self.clock, self.sleep = session, limits, clock, sleep
        self.robots: dict[str, RobotFileParser | str] = {}  # by origin: rules, or why none
        self.last_request: dict[str, float] = {}

    def wait_turn(self, url: str) -> None:
        origin = origin_of(url)
        rules = self.robots.get(origin)
        delay = self.limits.delay_s
        if isinstance(rules, RobotFileParser):
            delay = max(delay, float(rules.crawl_delay(USER_AGENT) or 0))
        last = self.last_request.get(origin)
        if last is not None and self.clock() - last < delay:
            self.sleep(delay - (self.clock() - last))
        self.last_request[origin] = self.clock()

    def check(self, url: str) -> None:
        """FetchFailed when robots.txt forbids the URL, or cannot be read (5xx, timeout):
        then the host is left alone, as RFC 9309 asks."""
        origin = origin_of(url)
        if origin not in self.robots:
            self.robots[origin] = self._read_robots(origin)
        rules = self.robots[origin]
        if isinstance(rules, str):
            raise FetchFailed(rules)
        if not rules.can_fetch(USER_AGENT, url):
            raise FetchFailed(f"robots.txt at {origin} disallows {urlsplit(url).path} for "
                              f"{USER_AGENT}")

    def _read_robots(self, origin: str) -> RobotFileParser | str:
        rules = RobotFileParser(f"{origin}/robots.txt")
        self.wait_turn(origin)
        try:
            response = self.session.get(f"{origin}/robots.txt", timeout=self.limits.timeout_s,
                                        headers={"User-Agent": USER_AGENT})
        except requests.RequestException as error:
            return f"robots.txt at {origin} could not be read ({type(error).__name__})"
        if 400 <= response.status_code < 500:
            rules.parse([])  # no robots.txt: everything is allowed
        elif response.status_code != 200:
            return f"robots.txt at {origin} could not be read (HTTP {response.status_code})"
        else:
            rules.parse(response.text.splitlines())
        return rules


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def fetch(politeness: Politeness, url: str, validators: dict[str, str], limits: Limits,
          scratch: Path) -> Download:
    """GET the URL with the validators (etag, last_modified) of the copy we hold, following
    redirects one hop at a time so each address's robots.txt and host delay count; the
    body goes into a temporary file in `scratch`. FetchFailed says why it could not."""
    headers = {"User-Agent": USER_AGENT}
    if validators.get("etag"):
        headers["If-None-Match"] = validators["etag"]
    if validators.get("last_modified"):
        headers["If-Modified-Since"] = validators["last_modified"]
    try:
        for _ in range(MAX_REDIRECTS + 1):
            politeness.check(url)
            politeness.wait_turn(url)
            with politeness.session.get(url, headers=headers, stream=True,
                                        timeout=limits.timeout_s,
                                        allow_redirects=False) as response:
                location = response.headers.get("Location")
                if response.is_redirect and location:
                    url = urljoin(url, location)
                    continue
                return answered(response, url, limits, scratch)
        raise FetchFailed(f"too many redirects (over {MAX_REDIRECTS})")
    except requests.Timeout:
        raise FetchFailed(f"timed out (no answer within {limits.timeout_s:g} s)") from None
    except requests.ConnectionError as error:
        if "timed out" in str(error).lower():  # a read timeout in the middle of the body
            raise FetchFailed(f"timed out (no data for {limits.timeout_s:g} s)") from None
        raise FetchFailed(f"connection failed: {short(error)}") from None
    except requests.RequestException as error:  # e.g. the body ended early
        raise FetchFailed(f"download incomplete: {short(error)}") from None


def answered(response: requests.Response, url: str, limits: Limits, scratch: Path
             ) -> Download:
    if response.status_code == 304:
        return Download(304, final_url=url)
    if response.status_code != 200:
        reason = f" {response.reason}" if response.reason else ""
        raise FetchFailed(f"HTTP {response.status_code}{reason}")
    return receive(response, limits, scratch)


def receive(response: requests.Response, limits: Limits, scratch: Path) -> Download:
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes:
        raise FetchFailed(f"too large ({int(declared) / MIB:.1f} MiB; the limit is "
                          f"{limits.max_bytes / MIB:g} MiB)")
    scratch.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=scratch, prefix=".download-", delete=False)
    path = Path(handle.name)
    try:
        received, started = 0, time.monotonic()
        with handle:
            for piece in response.iter_content(64 * 1024):
                received += len(piece)
                if received > limits.max_bytes:
                    raise FetchFailed(f"too large (over the {limits.max_bytes / MIB:g} MiB "
                                      f"limit)")
                if time.monotonic() - started > limits.deadline_s:
                    raise FetchFailed(f"timed out (the download took over "
                                      f"{limits.deadline_s:g} s)")
                handle.write(piece)
        if declared and declared.isdigit() and received < int(declared):
            raise FetchFailed(f"download incomplete ({received} of {declared} bytes)")
        kind = content_kind(content_type, path)
        if kind is None:
            raise FetchFailed(f"not a PDF or HTML page (Content-Type {content_type or 'none'})")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Download(200, path, kind, response.headers.get("ETag"),
                    response.headers.get("Last-Modified"), response.url)


def content_kind(content_type: str, path: Path) -> str | None:
    """pdf or html, by the bytes first (a server may say octet-stream), else the type."""
    with path.open("rb") as handle:
        head = handle.read(1024)
    if head.lstrip().startswith(b"%PDF-"):
        return "pdf"
    if content_type == "application/pdf":
        return None  # says PDF, is not: an error page or a truncated file
    if content_type in HTML_TYPES:
        return "html"
    return None


def short(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text[:200]
