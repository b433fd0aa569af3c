"""The build webhook (issue 27): a local receiver gets one signed JSON POST per build,
with the documents added, changed, removed and failed; a receiver that is down, or
answers 503, gets it once it is back; a slow one never holds up the build."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from corpus_support import build_corpus

from service.indexing.webhook import SIGNATURE_HEADER, Webhook, build_payload, signature
from service.store.jobs import JobStore
from tests.web.test_admin import AUTH, DOCS, make_app, run_jobs

SECRET = "webhook-secret-0123"


@dataclass
class Receiver:
    port: int
    answers: list[int] = field(default_factory=list)  # statuses to give first, then 200
    delay_s: float = 0.0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/plansearch"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay_s)
                status = receiver.answers.pop(0) if receiver.answers else 200
                if status == 200:
                    receiver.received.append((dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(free_port()).start()
    yield running
    running.stop()


def verified(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """What a receiver does: recompute the signature over the raw body, then parse it."""
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers[SIGNATURE_HEADER], expected)
    payload: dict[str, Any] = json.loads(body)
    return payload


PAYLOAD = build_payload([{"id": "j1", "kind": "watch", "status": "succeeded"}],
                        {"generation": "gen-000002", "added_paths": ["a.pdf"],
                         "updated_paths": [], "removed_paths": ["b.pdf"], "failed": []},
                        "succeeded", None)


def test_a_delivery_is_signed_over_its_body(receiver: Receiver) -> None:
    assert Webhook(receiver.url, SECRET).deliver(PAYLOAD)
    [(headers, body)] = receiver.received
    assert verified(headers, body) == PAYLOAD
    assert headers[SIGNATURE_HEADER] == signature(SECRET, body)
    assert (headers["Content-Type"], headers["X-Plansearch-Event"]) == (
        "application/json", "build.finished")
    assert verified({SIGNATURE_HEADER: signature(SECRET, body)}, body)
    with pytest.raises(AssertionError):  # a body changed on the way fails the check
        verified(headers, body.replace(b"a.pdf", b"x.pdf"))


def test_a_failing_receiver_is_retried_with_backoff(receiver: Receiver) -> None:
    receiver.answers = [503, 500]
    waits: list[float] = []
    hook = Webhook(receiver.url, SECRET, backoff_s=0.5, sleep=waits.append)
    assert hook.deliver(PAYLOAD)
    assert waits == [0.5, 1.0]
    assert len(receiver.received) == 1


def test_a_receiver_that_is_down_gets_it_when_it_comes_back() -> None:
    port = free_port()
    hook = Webhook(f"http://127.0.0.1:{port}/hooks/plansearch", SECRET, attempts=8,
                   backoff_s=0.2, timeout_s=2)
    started = time.monotonic()
    delivering = hook.send(PAYLOAD)
    assert time.monotonic() - started < 0.2  # the caller (the build) goes on at once
    time.sleep(1.0)  # two refused tries
    back = Receiver(port).start()
    try:
        delivering.join(15)
        assert not delivering.is_alive()
        [(headers, body)] = back.received
        assert verified(headers, body) == PAYLOAD
    finally:
        back.stop()


def test_it_gives_up_after_its_attempts(caplog: pytest.LogCaptureFixture) -> None:
    hook = Webhook(f"http://127.0.0.1:{free_port()}/", attempts=3, backoff_s=0.01)
    assert not hook.deliver(PAYLOAD)
    assert "gave up after 3 attempts: ConnectionError" in caplog.text


def test_a_build_job_announces_what_it_changed(tmp_path: Path, fake_embedder: Any,
                                               receiver: Receiver) -> None:
    """Through the admin job runner: one POST when the batch's build ends, and a slow
    receiver does not make the job wait for it."""
    dirs = {"corpus": tmp_path / "corpus", "index": tmp_path / "index"}
    build_corpus(dirs["corpus"], dirs["index"], fake_embedder, DOCS)
    corpus = dirs["corpus"]
    (corpus / "new-plan.txt").write_text("# Zebra crossings\n\nForty zebra crossings.\n")
    (corpus / "gloucestershire-urgent-care.txt").write_text("# Urgent care\n\nTwo centres.\n")
    (corpus / "staffordshire-planned-care.txt").unlink()
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    app = make_app(dirs, fake_embedder, WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=SECRET)
    job = JobStore(dirs["index"]).create("reindex")
    receiver.delay_s = 3.0
    started = time.monotonic()
    run_jobs(app)
    assert time.monotonic() - started < 2.5  # did not wait for the receiver
    deadline = time.monotonic() + 10
    while not receiver.received:
        assert time.monotonic() < deadline, "no webhook arrived"
        time.sleep(0.05)
    [(headers, body)] = receiver.received
    payload = verified(headers, body)
    assert payload["jobs"] == [{"id": job["id"], "kind": "reindex", "status": "succeeded",
                                "url": f"/api/v1/jobs/{job['id']}"}]
    # issue 28: the job link is the v1 path, and it answers with that job
    linked = app.test_client().get(payload["jobs"][0]["url"], headers=AUTH)
    assert (linked.status_code, linked.get_json()["id"]) == (200, job["id"])
    assert "Deprecation" not in linked.headers
    assert (payload["event"], payload["status"], payload["generation"]) == (
        "build.finished", "succeeded", "gen-000002")
    failed = payload["documents"].pop("failed")
    assert payload["documents"] == {"added": ["new-plan.txt"],
                                    "changed": ["gloucestershire-urgent-care.txt"],
                                    "removed": ["staffordshire-planned-care.txt"]}
    assert [f["path"] for f in failed] == ["broken.pdf"]


def test_no_webhook_is_set_by_default(tmp_path: Path, fake_embedder: Any) -> None:
    dirs = {"corpus": tmp_path / "corpus", "index": tmp_path / "index"}
    build_corpus(dirs["corpus"], dirs["index"], fake_embedder, DOCS)
    assert make_app(dirs, fake_embedder).extensions["plansearch_jobs"].on_build_end is None
