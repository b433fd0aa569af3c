"""The integrity stages (issue #12): a damaged live database with an upload and a
reload, a 49 MB upload ahead of a small one, and cancelling a running upload."""

from __future__ import annotations

import os
import re
import time
import urllib.parse
from collections import Counter
from typing import Any

from harness import Api, Server, wait_until

from chaos_run.documents import (
    QUESTIONS,
    big_text,
    check_documents,
    job_seconds,
    shorten,
    unique_document,
    upload_and_wait,
)


def truncate_upload_reload(api: Api, server: Server, expected: set[str]) -> dict[str, Any]:
    """Issue #12: truncate -s 8192 the live index.sqlite, upload, kill -HUP the master."""
    index = server.index_dir
    if len([p for p in index.iterdir() if p.name.startswith("gen-")]) < 2:
        # as in the issue, an older good generation exists (a fresh index has just one)
        document_id, job = upload_and_wait(api, "before-damage", 900)
        assert job["status"] == "succeeded", job
        expected.add(document_id)
    live = (index / "CURRENT").read_text().strip()
    os.truncate(index / live / "index.sqlite", 8192)  # SQLite reads it; nothing maps it
    seen: dict[str, Any] = {"damaged": api.health()[1],
                            "documents": api.call("GET", "/api/documents")[0]}
    name, content, _ = unique_document("integrity")
    status, body = api.upload(name, content)
    assert status == 202, body
    server.reload()  # while the upload's build runs
    seen["reloaded"] = api.health()[1]
    searches = [api.call("GET", f"/api/search?q={urllib.parse.quote(q)}")[0] for q in QUESTIONS]
    job = api.wait_job(body["job_id"], 900)
    retried = re.search(r"retried by job (\w+)", job.get("message") or "")
    if job["status"] == "failed" and retried:  # the HUP ended the worker running the job
        job = api.wait_job(retried.group(1), 900)
    expected.add(body["document_id"])
    after = api.health()[1]
    kept = sorted(p.name for p in index.iterdir() if p.name.startswith("gen-"))
    problem = check_documents(api, expected)
    reloaded = seen["reloaded"]
    ok = (seen["damaged"].get("status") == "degraded" and seen["documents"] == 200
          and reloaded.get("status") == "degraded" and reloaded.get("bad_generation") == live
          and set(searches) == {200} and job["status"] == "succeeded"
          and after.get("status") == "ok" and problem is None)
    return {"check": "truncate -s 8192 the live index.sqlite, upload, kill -HUP", "ok": ok,
            "result": f"served {reloaded.get('generation')} ('{reloaded.get('status')}', "
                      f"naming {reloaded.get('bad_generation')}) after the HUP; the upload "
                      f"published {after.get('generation')}, health then '{after.get('status')}'",
            "detail": f"before any reload health said '{seen['damaged'].get('status')}' serving "
                      f"{seen['damaged'].get('generation')} and /api/documents answered "
                      f"{seen['documents']}; {len(searches)} searches after the HUP answered "
                      f"{sorted(Counter(searches).items())}; generations left on disk: "
                      f"{', '.join(kept)}" + (f"; {problem}" if problem else "")}


def big_upload_then_small(api: Api, expected: set[str]) -> dict[str, Any]:
    """Issue #12: a 49 MB text file must not hold up a small upload behind it."""
    started = time.monotonic()
    status, big = api.upload("very-large-plan.txt", big_text(49))
    assert status == 202, big
    name, content, _ = unique_document("behind")
    status, small = api.upload(name, content)
    assert status == 202, small
    queued = time.monotonic()
    small_job = api.wait_job(small["job_id"], 1800)
    small_done = time.monotonic() - queued
    big_job = api.wait_job(big["job_id"], 60)
    big_s = job_seconds(big_job)
    expected.add(small["document_id"])
    reason = big_job["files"][0].get("reason", "")
    problem = check_documents(api, expected)
    ok = (big_job["status"] == "failed" and reason.startswith("too large to index")
          and small_job["status"] == "succeeded" and problem is None)
    return {"check": "a 49 MB text upload, then a small upload behind it", "ok": ok,
            "result": f"49 MB upload {big_job['status']}; the small one {small_job['status']} "
                      f"{small_done:.0f} s after it was queued",
            "detail": f"refusal: {shorten(reason)}; the 49 MB job took {big_s:.0f} s from "
                      f"upload to failure (upload request {queued - started:.0f} s)"
                      + (f"; {problem}" if problem else "")}


def cancel_running_upload(api: Api, expected: set[str]) -> dict[str, Any]:
    """DELETE /api/jobs/<id> of an upload that is embedding; a small upload behind it."""
    before = api.health()[1]["generation"]
    status, medium = api.upload("medium-plan.txt", big_text(2))  # about 3,000 chunks
    assert status == 202, medium
    name, content, _ = unique_document("after-cancel")
    status, small = api.upload(name, content)
    assert status == 202, small
    wait_until(lambda: api.job(medium["job_id"])["progress"].get("chunks_done"), 900,
               "the medium upload to start embedding")
    progress = api.job(medium["job_id"])["progress"]
    asked = time.monotonic()
    code, answer = api.call("DELETE", f"/api/jobs/{medium['job_id']}", admin=True)
    cancelled = api.wait_job(medium["job_id"], 300)
    stopped = time.monotonic() - asked
    serving = api.health()[1]["generation"]
    small_job = api.wait_job(small["job_id"], 900)
    expected.add(small["document_id"])
    problem = check_documents(api, expected)
    ok = (code == 202 and cancelled["status"] == "cancelled" and serving == before
          and small_job["status"] == "succeeded" and problem is None)
    return {"check": "cancel a running upload (DELETE /api/jobs/<id>), small upload behind it",
            "ok": ok, "result": f"{cancelled['status']} {stopped:.1f} s after the DELETE "
                                f"({code}); the small one {small_job['status']}",
            "detail": f"cancelled at {progress.get('chunks_done')}/{progress.get('chunks_total')}"
                      f" chunks ({progress.get('chunks_per_s')} chunks/s, eta "
                      f"{progress.get('eta_s')} s); still serving {serving} right after"
                      + (f"; {problem}" if problem else "")}


