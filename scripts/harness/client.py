"""A tiny loopback-only HTTP client for the scripts that drive a real server (stdlib)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Self

FINISHED = {"succeeded", "failed", "cancelled"}


class Api:
    """Calls the server on 127.0.0.1:`port`; `admin` calls send the admin token."""

    def __init__(self, port: int, token: str = "") -> None:
        self.base, self.token = f"http://127.0.0.1:{port}", token

    @property
    def port(self) -> int:
        """The server's port."""
        return int(self.base.rsplit(":", 1)[1])

    def call(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None, admin: bool = False,
             timeout: float = 60) -> tuple[int, Any]:
        """(status, the decoded JSON body) of one request; error statuses are returned."""
        headers = dict(headers or {})
        if admin:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base + path, data=body, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read() or b"null")

    def upload(self, name: str, content: bytes) -> tuple[int, Any]:
        """POST /api/documents with one file, as a browser form sends it."""
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
        return self.call("POST", "/api/documents", body, admin=True, timeout=300, headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}"})

    def job(self, job_id: str) -> dict[str, Any]:
        """The job's JSON (an admin call)."""
        status, body = self.call("GET", f"/api/jobs/{job_id}", admin=True)
        assert status == 200, body
        job: dict[str, Any] = body
        return job

    def wait_job(self, job_id: str, timeout: float) -> dict[str, Any]:
        """The job once it has finished, whichever way; TimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job["status"] in FINISHED:
                return job
            time.sleep(0.25)
        raise TimeoutError(f"job {job_id} did not finish within {timeout:.0f} s")

    def documents(self) -> list[dict[str, Any]]:
        """GET /api/documents' list."""
        status, body = self.call("GET", "/api/documents")
        assert status == 200, body
        documents: list[dict[str, Any]] = body["documents"]
        return documents

    def health(self) -> tuple[int, dict[str, Any]]:
        """GET /api/health: (status, body)."""
        status, body = self.call("GET", "/api/health")
        return status, body


class ClientThreads:
    """`count` client threads, each running `client(its number)` until the `with` block
    that started them ends and sets `stop`; `lock` guards what they record."""

    join_seconds = 60.0  # how long leaving the block waits for a client to notice `stop`

    def __init__(self, count: int) -> None:
        self.count = count
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def client(self, number: int) -> None:
        """One client's loop, which returns once `stop` is set."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.threads = [threading.Thread(target=self.client, args=(number,), daemon=True)
                        for number in range(self.count)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(self.join_seconds)
