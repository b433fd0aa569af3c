"""The sources list and `make sync` (issue 27), against a local HTTP server that serves
changing files, ETags, 304s, redirects, slow answers, a truncated download, a 404, a
robots.txt and a file too large: each URL ends new, updated, unchanged or failed with its
reason, and none stops the rest."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from paths import ROOT

from service.indexing.build import build_index
from service.indexing.fetching import Limits
from service.indexing.sandbox import corpus_reader
from service.indexing.sidecars import read_sidecar
from service.indexing.sources import STATE_FILE, Source, SourcesError, load_sources
from service.indexing.sync import scheduled_sync, sync_sources, sync_while_holding_lock
from service.store import open_store
from tests.pdf_factory import make_report_pdf

LAST_MODIFIED = "Mon, 01 Dec 2025 10:00:00 GMT"


@dataclass
class Site:
    """What the local server serves, by path: (status, headers, body); and what it saw."""

    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    seen: list[tuple[float, str, dict[str, str]]] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def requests_for(self, path: str) -> list[dict[str, str]]:
        return [headers for _, seen_path, headers in self.seen if seen_path == path]


class Handler(BaseHTTPRequestHandler):
    site: Site

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        self.site.seen.append((time.monotonic(), self.path, dict(self.headers)))
        if self.path == "/slow.pdf":
            time.sleep(2)  # longer than the client's timeout
        status, headers, body = self.site.routes.get(self.path, (404, {}, b"not here"))
        etag = headers.get("ETag")
        if etag and self.headers.get("If-None-Match") == etag or \
                headers.get("Last-Modified") and \
                self.headers.get("If-Modified-Since") == headers["Last-Modified"]:
            status, body = 304, b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        unsized = self.path == "/streamed.pdf"  # no length: the body ends when it closes
        if "Content-Length" not in headers and not unsized:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            if self.path == "/trickle.pdf":  # the headers at once, the body stalls
                self.wfile.write(body[:100])
                self.wfile.flush()
                time.sleep(2)
            self.wfile.write(body[100:] if self.path == "/trickle.pdf" else body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (too large, timed out)
        if self.path in ("/truncated.pdf", "/streamed.pdf"):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site()
    handler = type("SiteHandler", (Handler,), {"site": served})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    served.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield served
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def pdf_bytes(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """Two real plan PDFs: the first version, and a longer second one."""
    folder = tmp_path_factory.mktemp("pdfs")
    return (make_report_pdf(folder / "one.pdf").read_bytes(),
            make_report_pdf(folder / "two.pdf", appendix_paragraphs=5).read_bytes())


def serve_plans(site: Site, first: bytes) -> None:
    pdf = {"Content-Type": "application/pdf"}
    site.routes.update({
        "/robots.txt": (200, {"Content-Type": "text/plain"},
                        b"User-agent: *\nDisallow: /private/\n"),
        "/plans/jfp.pdf": (200, {**pdf, "ETag": '"v1"'}, first),
        "/plans/dated.pdf": (200, {**pdf, "Last-Modified": LAST_MODIFIED}, first + b"\n%dated"),
        "/news/plan-page": (200, {"Content-Type": "text/html; charset=utf-8"},
                            b"<html><head><title>Winter plan</title></head><body><main><h1>"
                            b"Winter plan</h1><p>Extra beds open in December.</p></main>"
                            b"</body></html>"),
        "/old-address.pdf": (301, {"Location": "/plans/jfp.pdf"}, b""),
        "/notes.txt": (200, {"Content-Type": "text/plain"}, b"just text"),
        "/truncated.pdf": (200, {**pdf, "Content-Length": str(len(first))},
                           first[:len(first) // 3]),
        "/huge.pdf": (200, {**pdf, "Content-Length": str(10 * 1024 * 1024)}, b""),
        "/slow.pdf": (200, pdf, first),
        "/trickle.pdf": (200, pdf, first),
        "/streamed.pdf": (200, pdf, b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024)),
        "/private/board-papers.pdf": (200, pdf, first),
    })


def sources_for(site: Site) -> list[Source]:
    meta = {"title": "Joint Forward Plan", "area": "Coventry and Warwickshire",
            "publisher": "NHS Coventry and Warwickshire ICB", "type": "plan"}
    return [Source(site.url("/plans/jfp.pdf"), meta, "icb/jfp.pdf"),
            Source(site.url("/plans/dated.pdf"), {}),
            Source(site.url("/news/plan-page"), {"type": "news item"}),
            Source(site.url("/old-address.pdf"), {}),
            Source(site.url("/gone.pdf"), {}),
            Source(site.url("/notes.txt"), {}),
            Source(site.url("/truncated.pdf"), {}),
            Source(site.url("/huge.pdf"), {}),
            Source(site.url("/slow.pdf"), {}),
            Source(site.url("/private/board-papers.pdf"), {}),
            Source(site.url("/trickle.pdf"), {}),
            Source(site.url("/streamed.pdf"), {})]


LIMITS = Limits(timeout_s=0.5, max_bytes=1024 * 1024, delay_s=0.05)


def outcomes(results: list[Any]) -> list[tuple[str, str]]:
    return [(r.url.rsplit("/", 1)[1], r.status) for r in results]


def test_sync_fetches_skips_unchanged_replaces_changed_and_reports_each_failure(
        site: Site, pdf_bytes: tuple[bytes, bytes], tmp_path: Path) -> None:
    first, second = pdf_bytes
    serve_plans(site, first)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    results = sync_sources(corpus, sources_for(site), LIMITS)
    assert outcomes(results) == [
        ("jfp.pdf", "new"), ("dated.pdf", "new"), ("plan-page", "new"),
        ("old-address.pdf", "new"), ("gone.pdf", "failed"), ("notes.txt", "failed"),
        ("truncated.pdf", "failed"), ("huge.pdf", "failed"), ("slow.pdf", "failed"),
        ("board-papers.pdf", "failed"), ("trickle.pdf", "failed"), ("streamed.pdf", "failed")]
    reasons = {r.url.rsplit("/", 1)[1]: r.reason for r in results if r.status == "failed"}
    assert reasons == {
        "gone.pdf": "HTTP 404 Not Found",
        "notes.txt": "not a PDF or HTML page (Content-Type text/plain)",
        "truncated.pdf": reasons["truncated.pdf"],
        "huge.pdf": "too large (10.0 MiB; the limit is 1 MiB)",
        "slow.pdf": "timed out (no answer within 0.5 s)",
        "board-papers.pdf": f"robots.txt at {site.url('')} disallows /private/board-papers.pdf "
                            f"for Plansearch-sync/1",
        "trickle.pdf": "timed out (no data for 0.5 s)",
        "streamed.pdf": "too large (over the 1 MiB limit)"}
    assert reasons["truncated.pdf"].startswith("download incomplete")
    assert site.requests_for("/private/board-papers.pdf") == []  # robots.txt: never asked

    assert (corpus / "icb" / "jfp.pdf").read_bytes() == first
    saved = {r.url.rsplit("/", 1)[1]: r.file for r in results if r.file}
    assert saved["plan-page"].startswith("fetched/127.0.0.1/plan-page-")
    assert saved["plan-page"].endswith(".html")
    assert saved["old-address.pdf"].endswith(".pdf")  # followed the redirect
    sidecar = json.loads((corpus / ".meta" / "icb" / "jfp.pdf.json").read_text())
    assert sidecar == {"title": "Joint Forward Plan", "area": "Coventry and Warwickshire",
                       "publisher": "NHS Coventry and Warwickshire ICB", "type": "plan",
                       "source_url": site.url("/plans/jfp.pdf"),
                       "fetched_at": sidecar["fetched_at"], "etag": '"v1"'}
    leftovers = [p.name for p in corpus.rglob("*") if p.name.startswith(".download")]
    assert leftovers == [] and not (corpus / ".sync-downloads").exists()

    # the second run: 304 for both validators, and the changed file replaced
    site.routes["/plans/jfp.pdf"] = (200, {"Content-Type": "application/pdf", "ETag": '"v2"'},
                                     second)
    again = sync_sources(corpus, sources_for(site)[:5], LIMITS)
    assert outcomes(again) == [("jfp.pdf", "updated"), ("dated.pdf", "unchanged"),
                               ("plan-page", "unchanged"),
                               ("old-address.pdf", "updated"),  # it redirects to jfp.pdf
                               ("gone.pdf", "failed")]
    assert site.requests_for("/plans/jfp.pdf")[-1]["If-None-Match"] == '"v1"'
    assert site.requests_for("/plans/dated.pdf")[-1]["If-Modified-Since"] == LAST_MODIFIED
    assert (corpus / "icb" / "jfp.pdf").read_bytes() == second
    state = json.loads((corpus / STATE_FILE).read_text())
    assert state[site.url("/plans/jfp.pdf")]["etag"] == '"v2"'

    # the list's metadata edited, the document not: the sidecar follows the list
    edited = sources_for(site)[:2]
    edited[1] = Source(edited[1].url, {"title": "Dated plan", "area": "Gloucestershire"})
    assert outcomes(sync_sources(corpus, edited, LIMITS)) == [
        ("jfp.pdf", "unchanged"), ("dated.pdf", "unchanged")]
    dated = json.loads((corpus / ".meta" / saved["dated.pdf"]).with_suffix(".pdf.json")
                       .read_text())
    assert (dated["title"], dated["area"], dated["source_url"]) == (
        "Dated plan", "Gloucestershire", site.url("/plans/dated.pdf"))


def test_requests_to_one_host_keep_the_delay(site: Site, pdf_bytes: tuple[bytes, bytes],
                                             tmp_path: Path) -> None:
    serve_plans(site, pdf_bytes[0])
    limits = Limits(timeout_s=5, delay_s=0.4)
    sync_sources(tmp_path, sources_for(site)[:4], limits)
    times = [at for at, _, _ in site.seen]
    assert len(times) == 6  # robots.txt, four documents, and the redirect's target
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert all(gap >= 0.38 for gap in gaps), gaps  # a redirect's next hop waits its turn too


def test_a_redirect_is_followed_only_where_robots_txt_allows(site: Site,
                                                             pdf_bytes: tuple[bytes, bytes],
                                                             tmp_path: Path) -> None:
    serve_plans(site, pdf_bytes[0])
    site.routes["/to-private.pdf"] = (302, {"Location": "/private/board-papers.pdf"}, b"")
    site.routes["/loop.pdf"] = (302, {"Location": "/loop.pdf"}, b"")
    results = sync_sources(tmp_path, [Source(site.url("/to-private.pdf"), {}),
                                      Source(site.url("/loop.pdf"), {})], LIMITS)
    assert [(r.status, r.reason) for r in results] == [
        ("failed", f"robots.txt at {site.url('')} disallows /private/board-papers.pdf for "
                   f"Plansearch-sync/1"),
        ("failed", "too many redirects (over 10)")]
    assert site.requests_for("/private/board-papers.pdf") == []


def test_a_host_whose_robots_txt_fails_is_left_alone(site: Site, tmp_path: Path) -> None:
    site.routes["/robots.txt"] = (503, {}, b"down")
    [result] = sync_sources(tmp_path, [Source(site.url("/plans/jfp.pdf"), {})], LIMITS)
    assert (result.status, result.reason) == (
        "failed", f"robots.txt at {site.url('')} could not be read (HTTP 503)")
    assert site.requests_for("/plans/jfp.pdf") == []


def test_the_build_cites_the_source_url(site: Site, pdf_bytes: tuple[bytes, bytes],
                                        tmp_path: Path, fake_embedder: Any) -> None:
    serve_plans(site, pdf_bytes[0])
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sync_sources(corpus, sources_for(site)[:1], LIMITS)
    assert read_sidecar(corpus, "icb/jfp.pdf")["source_url"] == site.url("/plans/jfp.pdf")
    build_index(corpus, tmp_path / "index", fake_embedder, read=corpus_reader(corpus))
    store = open_store(tmp_path / "index")
    generation = store.open(store.current())
    [document] = generation.documents()
    assert (document.path, document.source_url, document.title, document.area) == (
        "icb/jfp.pdf", site.url("/plans/jfp.pdf"), "Joint Forward Plan",
        "Coventry and Warwickshire")
    generation.close()


def test_the_server_syncs_on_its_own_schedule(site: Site, pdf_bytes: tuple[bytes, bytes],
                                              tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """PLANSEARCH_SYNC_HOURS: at once, then every period; a broken list is logged."""
    serve_plans(site, pdf_bytes[0])
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "sources.yaml").write_text(f"sources:\n  - url: {site.url('/plans/jfp.pdf')}\n"
                                         f"    file: jfp.pdf\n")
    stop = threading.Event()
    schedule = threading.Thread(target=sync_while_holding_lock,
                                args=(corpus, tmp_path / "index", 0.5, stop),
                                kwargs={"limits": Limits(timeout_s=5, delay_s=0)})
    schedule.start()
    try:
        deadline = time.monotonic() + 10
        while len(site.requests_for("/plans/jfp.pdf")) < 2:
            assert time.monotonic() < deadline, "the schedule did not run twice"
            time.sleep(0.05)
    finally:
        stop.set()
        schedule.join(10)
    assert (corpus / "jfp.pdf").read_bytes() == pdf_bytes[0]
    assert site.requests_for("/plans/jfp.pdf")[1]["If-None-Match"] == '"v1"'  # then a 304
    (corpus / "sources.yaml").write_text("sources:\n  - url: ftp://x\n")
    assert scheduled_sync(corpus) == []
    assert "scheduled sync skipped:" in caplog.text


def test_the_sources_list_is_checked(tmp_path: Path) -> None:
    listing = tmp_path / "sources.yaml"
    assert load_sources(listing) == []  # none: nothing to fetch
    listing.write_text("# every entry commented out\n# sources:\n#  - url: https://x\n")
    assert load_sources(listing) == []
    listing.write_text("sources:\n  - https://a.example/plan.pdf\n  - url: https://b.example/x"
                       "\n    title: B\n    file: plans/b.pdf\n")
    assert load_sources(listing) == [Source("https://a.example/plan.pdf", {}),
                                     Source("https://b.example/x", {"title": "B"},
                                            "plans/b.pdf")]
    for text, message in [
            ("sources:\n  - url: ftp://a.example/x.pdf\n", "entry 1: url must be an http"),
            ("sources:\n  - url: https://a.example/x\n    colour: red\n",
             "entry 1: unknown field(s) colour"),
            ("sources:\n  - url: https://a.example/x\n    file: ../../etc/x.pdf\n",
             "file must be a path inside the corpus"),
            ("sources: {url: 1}\n", "`sources` must be a list"),
            ("sources: [\n", "not valid YAML")]:
        listing.write_text(text)
        with pytest.raises(SourcesError, match=message.replace("(", r"\(").replace(")", r"\)")):
            load_sources(listing)


def test_make_sync_runs_the_script(site: Site, pdf_bytes: tuple[bytes, bytes],
                                   tmp_path: Path) -> None:
    """`make sync` is `python scripts/sync_sources.py`: a summary line per URL, exit 1 when
    one failed; with no sources.yaml it fetches nothing and succeeds."""
    serve_plans(site, pdf_bytes[0])
    script = [sys.executable, str(ROOT / "scripts" / "sync_sources.py"), "--corpus",
              str(tmp_path), "--delay", "0"]
    quiet = subprocess.run(script, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (quiet.returncode, quiet.stdout.splitlines()[0]) == (
        0, f"0 source(s) in {tmp_path / 'sources.yaml'}: 0 new, 0 updated, 0 unchanged, "
           f"0 failed")
    (tmp_path / "sources.yaml").write_text(
        f"sources:\n  - url: {site.url('/plans/jfp.pdf')}\n  - {site.url('/gone.pdf')}\n")
    run = subprocess.run([*script, "--json"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert (report["new"], report["failed"]) == (1, 1)
    assert [s["reason"] for s in report["sources"]] == [None, "HTTP 404 Not Found"]
