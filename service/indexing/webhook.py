"""The build webhook (PLANSEARCH_WEBHOOK_URL): when a build job ends, a JSON POST says
which documents it added, changed, removed and failed to read. The body is signed with
HMAC-SHA256 (`X-Plansearch-Signature: sha256=<hex>`, keyed by PLANSEARCH_WEBHOOK_SECRET),
and delivery retries with backoff in a thread of its own, so a slow or absent receiver
never holds up or fails a build."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from service.indexing.job_runner import BuildEnded

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Plansearch-Signature"
EVENT = "build.finished"
USER_AGENT = "Plansearch-webhook/1"
JOB_PATH = "/api/v1/jobs/"  # the webhook is new: its job links are the current version's


def signature(secret: str, body: bytes) -> str:
    """The header's value: what a receiver recomputes over the raw body to check it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def build_payload(jobs: list[dict[str, Any]], summary: Mapping[str, Any] | None,
                  status: str, message: str | None) -> dict[str, Any]:
    """One delivery per build: the jobs it ran (a batch shares one build) and what
    changed in the index. A build that failed or was cancelled changed nothing."""
    summary = summary or {}
    return {
        "event": EVENT,
        "status": status,  # succeeded, failed or cancelled
        "message": message,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "generation": summary.get("generation"),
        "jobs": [{"id": job["id"], "kind": job["kind"], "status": job["status"],
                  "url": JOB_PATH + job["id"]} for job in jobs],
        "documents": {
            "added": list(summary.get("added_paths", [])),
            "changed": list(summary.get("updated_paths", [])),
            "removed": list(summary.get("removed_paths", [])),
            "failed": [{"path": f["path"], "reason": f["reason"]}
                       for f in summary.get("failed", [])],
        },
    }


@dataclass
class Webhook:
    url: str
    secret: str = ""
    attempts: int = 6  # the first try and five retries
    backoff_s: float = 2.0  # doubled after each failed try: 2, 4, 8, 16, 32 s
    timeout_s: float = 10.0
    sleep: Callable[[float], None] = time.sleep

    def send(self, payload: dict[str, Any]) -> threading.Thread:
        """Deliver in the background; returns the delivering thread at once."""
        thread = threading.Thread(target=self.deliver, args=(payload,),
                                  name="plansearch-webhook", daemon=True)
        thread.start()
        return thread

    def deliver(self, payload: dict[str, Any]) -> bool:
        """POST until the receiver answers 2xx or the attempts run out; whether it did."""
        body = json.dumps(payload, sort_keys=True).encode()
        delivery = uuid.uuid4().hex  # the same on every retry: a receiver can de-duplicate
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   "X-Plansearch-Event": EVENT, "X-Plansearch-Delivery": delivery}
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        delay = self.backoff_s
        for attempt in range(1, self.attempts + 1):
            problem = self._post(body, headers)
            if problem is None:
                return True
            if attempt == self.attempts:
                log.warning("webhook %s gave up after %d attempts: %s", self.url, attempt,
                            problem)
                return False
            log.info("webhook %s attempt %d failed (%s); retrying in %g s", self.url, attempt,
                     problem, delay)
            self.sleep(delay)
            delay *= 2
        return False

    def _post(self, body: bytes, headers: dict[str, str]) -> str | None:
        """None when delivered, else what went wrong."""
        try:
            response = requests.post(self.url, data=body, headers=headers,
                                     timeout=self.timeout_s, allow_redirects=False)
        except requests.RequestException as error:
            return type(error).__name__
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"


def build_announcer(config: Mapping[str, Any]) -> BuildEnded | None:
    """What the job runner calls when a build ends: the webhook's send, when one is set."""
    url = str(config.get("WEBHOOK_URL") or "").strip()
    if not url:
        return None
    hook = Webhook(url, str(config.get("WEBHOOK_SECRET") or ""))

    def announce(jobs: list[dict[str, Any]], summary: Mapping[str, Any] | None, status: str,
                 message: str | None) -> None:
        hook.send(build_payload(jobs, summary, status, message))

    return announce
