"""What the fault-run stages upload, and how they check the index afterwards."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from harness import Api

QUESTIONS = ["what are Gloucestershire's urgent care plans", "RTT waiting times",
             "planned care in Staffordshire", "mental health services Coventry",
             "community partners bulletin", "elective hub", "NHS 111 online"]


def unique_document(label: str) -> tuple[str, bytes, str]:
    """A small plan with a word no other document has: (name, content, that word)."""
    word = f"chaos{uuid.uuid4().hex[:10]}"
    text = (f"# {label.title()} plan\n\nThe {word} programme improves urgent care and planned "
            f"care across the area. Waiting times for {word} clinics fall by a third.\n")
    return f"{label}-{word}.md", text.encode(), word


def big_text(megabytes: int) -> bytes:
    """A plain-text plan of about this many MB, with enough distinct words to chunk."""
    lines, size, n = [], 0, 0
    while size < megabytes * 1_000_000:
        line = (f"Ward {n} will open community diagnostic centre number {n % 997} and cut "
                f"waiting times for elective care by {n % 40} weeks in year {2024 + n % 7}.\n")
        lines.append(line)
        size += len(line)
        n += 1
    return ("# A very large plan\n\n" + "".join(lines)).encode()


def upload_and_wait(api: Api, label: str, timeout: float) -> tuple[str, dict[str, Any]]:
    """Upload a `unique_document`: (its document id, its job once finished)."""
    name, content, _ = unique_document(label)
    status, body = api.upload(name, content)
    assert status == 202, body
    return body["document_id"], api.wait_job(body["job_id"], timeout)


def check_documents(api: Api, expected: set[str]) -> str | None:
    """None when the index holds exactly `expected`, once each, chunks all accounted for."""
    documents = api.documents()
    ids = [d["id"] for d in documents]
    status, health = api.health()
    if len(ids) != len(set(ids)):
        return f"duplicate document ids: {sorted(i for i, n in Counter(ids).items() if n > 1)}"
    if set(ids) != expected:
        return f"missing {sorted(expected - set(ids))}, unexpected {sorted(set(ids) - expected)}"
    if status != 200 or sum(d["chunks"] for d in documents) != health["chunks"]:
        return f"chunk counts disagree: documents {sum(d['chunks'] for d in documents)}, " \
               f"index {health.get('chunks')}"
    return None


def job_seconds(job: dict[str, Any]) -> float:
    """How long a finished job took, from its creation."""
    return (datetime.fromisoformat(job["finished_at"]).timestamp()
            - datetime.fromisoformat(job["created_at"]).timestamp())


def shorten(text: str, limit: int = 160) -> str:
    """`text`, cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[:limit].rstrip() + "…"
