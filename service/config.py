"""The one settings table: it drives the defaults, the environment overrides and the
table in docs/operations.md's settings section (a test checks that every setting is
documented). Two settings are objects rather than strings (from_env=False); only
`create_app(config)` can pass those."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str  # the config key; the environment variable is PLANSEARCH_<NAME>
    default: Any
    help: str
    from_env: bool = True  # False: programmatic only, no environment variable is read

    @property
    def env(self) -> str:
        return f"PLANSEARCH_{self.name}"

    @property
    def documented_as(self) -> str:
        """The name the settings table in docs/operations.md gives it."""
        return self.env if self.from_env else self.name


SETTINGS: tuple[Setting, ...] = (
    Setting("INDEX_DIR", str(ROOT / "index"), "Folder holding the index generations."),
    Setting("STORE", "",
            "Where the index lives. Empty: generations of FAISS + SQLite files in INDEX_DIR. "
            "`milvus-lite:///abs/path/plansearch.db`: a Milvus Lite folder (the first "
            "process to open it serves it to the others on loopback). "
            "`milvus://host:19530`: a Milvus server or cluster. Build locks, jobs and rate "
            "limits stay in INDEX_DIR either way; see docs/deploy-milvus.md."),
    Setting("MILVUS_TOKEN", "",
            "Token for a Milvus server (`user:password`, or an API key). Empty: none."),
    Setting("MILVUS_PREFIX", "plansearch",
            "Name of the Milvus alias that points at the live generation; its collections "
            "are named `<prefix>_g000001_chunks` and so on, and `<prefix>_meta`."),
    Setting("CORPUS_DIR", str(ROOT / "corpus"), "Folder of plan documents to index."),
    Setting("MODEL", "sentence-transformers/all-MiniLM-L6-v2",
            "Embedding model: the bundled default, or the path of a local "
            "sentence-transformers folder. Hub downloads are never attempted."),
    Setting("EMBEDDER", "onnx",
            "How queries and builds are embedded: `onnx` (ONNX Runtime, no torch at run time; "
            "exported once by `make install` and checked against sentence-transformers), "
            "`onnx-int8` (the same export with int8 weights: encodes about 1.5x as fast, but "
            "ranks a little worse, MRR 0.01 to 0.02 lower on the evaluation sets) or "
            "`sentence-transformers` (the reference). Tests may pass an embedder object."),
    Setting("HOST", "127.0.0.1", "Address `make run` binds to."),
    Setting("PORT", 8000, "Port `make run` listens on."),
    Setting("WORKERS", 2, "gunicorn worker processes for `make run`."),
    Setting("THREADS", 4, "Threads per gunicorn worker."),
    Setting("HEADER_TIMEOUT_S", 10,
            "Seconds a client may take to send a request's line and headers; a slower "
            "one is answered 408 and closed. The worker's event loop reads whole requests, "
            "so a slow client never holds a serving thread."),
    Setting("BODY_MIN_RATE_KBPS", 8,
            "Slowest average rate, in KiB/s, at which a request body may arrive, counted "
            "from the end of its headers after a grace of HEADER_TIMEOUT_S; a slower one "
            "is answered 408 and closed."),
    Setting("TORCH_THREADS", 1,
            "Torch threads per serving process (builds use every core). One thread per "
            "worker serves concurrent queries best on a small machine."),
    Setting("ENCODE_BATCH", 32, "Batch size when embedding chunks during a build."),
    Setting("MAX_BODY_KB", 64, "Largest JSON request body accepted by the API, in KiB."),
    Setting("REQUEST_BUDGET_S", 5.0,
            "Time budget of one API request, in seconds: past it, the request stops at its "
            "next checkpoint and answers 503 with Retry-After. 0: no budget."),
    Setting("CHAT_SLOTS", 2,
            "Chats one server process (gunicorn worker) answers at once; one more arriving "
            "meanwhile gets 503 with Retry-After: 1 at once, instead of holding a thread "
            "that searches need. Shared fairly: while several clients chat, each may hold "
            "an equal share. 0: no limit."),
    Setting("QUERY_CACHE", 1024, "Query embeddings kept in each worker's LRU cache."),
    Setting("RERANKER", "", "Local cross-encoder folder for mode hybrid+rerank. Empty: that "
            "mode re-scores the top 30 by their best sentence instead."),
    Setting("ADMIN_TOKEN", "",
            "Bearer token for the admin endpoints (upload, delete, reindex, jobs). Unset: "
            "they answer 403."),
    Setting("API_KEYS", "",
            "Comma-separated read-only keys for search, chat and documents, sent as "
            "`Authorization: Bearer <key>` or `X-API-Key`; staff paste one into the "
            "sign-in page. Setting them turns on PLANSEARCH_ACCESS=keys."),
    Setting("ACCESS", "",
            "Who may read the documents: `open` (anyone who reaches the server), `keys` (a "
            "read key: pasted into the sign-in page, or sent by tools in a header) or `sso` "
            "(OpenID Connect sign-in for people; tools still send keys). Empty: `keys` when "
            "PLANSEARCH_API_KEYS is set, else `open`."),
    Setting("SECRET_KEY", "",
            "Signs the session cookie of the keys and sso modes. Empty: a random key made "
            "once and kept in `secret_key` (mode 0600) in INDEX_DIR, which every worker "
            "and restart shares."),
    Setting("SESSION_HOURS", 12.0, "How long a sign-in lasts, in hours."),
    Setting("SSO_ISSUER", "",
            "OpenID Connect issuer, whose `/.well-known/openid-configuration` is read "
            "(Entra ID: `https://login.microsoftonline.com/<tenant id>/v2.0`)."),
    Setting("SSO_CLIENT_ID", "", "The application (client) id registered with the issuer."),
    Setting("SSO_CLIENT_SECRET", "", "The client secret registered with the issuer."),
    Setting("SSO_DOMAINS", "",
            "Comma-separated email domains whose people may read (e.g. `nhs.net`), matched "
            "against the token's `email`, else `preferred_username`."),
    Setting("SSO_GROUPS", "",
            "Comma-separated group ids (Entra object ids) whose members may read. A person "
            "matching either a domain or a group gets in; sso needs at least one of the two."),
    Setting("SSO_GROUP_CLAIM", "groups", "The id_token claim that lists a person's groups."),
    Setting("MAX_UPLOAD_MB", 50, "Largest upload request (all its files together), in MiB."),
    Setting("DISK_MIN_FREE_MB", 100,
            "Free space kept on the index disk, in MiB. Below it /api/health says `degraded` "
            "(\"index disk full\"), and uploads, and deletes that would strand a file, answer "
            "507 before writing anything; searches go on. A build needs room for the files "
            "it changes (a copy of the index's database and its new segments)."),
    Setting("BUILD_READERS", 0,
            "Files a build parses at once while the model encodes the files read before, "
            "each in its own sandboxed child; 0 means one per two cores (at least two)."),
    Setting("PARSE_TIMEOUT_S", 180, "Wall-time limit for parsing one file, in seconds."),
    Setting("PARSE_MEMORY_MB", 1024,
            "Memory one file's parser may allocate (address space, on top of the builder's), "
            "in MiB."),
    Setting("PARSE_MAX_PAGES", 2000, "PDFs with more pages than this are skipped."),
    Setting("MAX_DOCUMENT_CHUNKS", 20000,
            "A document with more chunks than this fails (and the rest of its build goes on): "
            "about 8 minutes of embedding on 2 idle cores, at roughly 40 chunks/s."),
    Setting("RATE_LIMIT_SEARCH", "1200/minute",
            "Limit on /api/search, /api/chat, /api/compare, /api/search.csv and "
            "/api/feedback together, per API key when a valid one is "
            "sent, else per client address (flask-limiter syntax). Sized for an NHS trust "
            "whose staff all reach the server through one proxy address."),
    Setting("RATE_LIMIT_ADMIN", "120/minute",
            "Limit on the admin endpoints, per admin token or client address."),
    Setting("RATE_LIMIT_STORAGE", "",
            "Where rate-limit counters live. Empty: `ratelimits.sqlite` in the index "
            "folder, one count shared by every worker process; `memory://` counts per "
            "worker; `redis://host:port` for several servers."),
    Setting("RATE_LIMIT_EXEMPT", "127.0.0.0/8, ::1",
            "Comma-separated addresses or networks never rate-limited (default: loopback, "
            "for scripts on the server itself). `none`: nobody is exempt."),
    Setting("TRUSTED_PROXIES", "",
            "Comma-separated addresses or networks of reverse proxies whose "
            "X-Forwarded-For names the real client (werkzeug ProxyFix). Anyone else's "
            "header is ignored. Put 127.0.0.1 here when a proxy on this host forwards "
            "to Plansearch, or every client counts as exempt loopback."),
    Setting("QUESTION_LOG", True,
            "Keep the question log: each search, chat and compare stores its question, "
            "filters, verdict and cited passages with a timestamp (never an address or an "
            "identity), and \"helpful / not helpful\" feedback is stored beside it, for "
            "the admin Insights. `off`: nothing is stored and the page shows no feedback "
            "buttons."),
    Setting("QUESTION_LOG_DAYS", 180,
            "Days the question log keeps an entry; older ones are deleted (at most an hour "
            "late). At least 1."),
    Setting("WATCH", True,
            "Watch the corpus folder while `make run` serves: files saved into it, changed, "
            "moved or deleted start an incremental build job (one watcher however many "
            "workers). `0`: off; `make index` and the admin API work either way."),
    Setting("WATCH_QUIET_S", 30.0,
            "Seconds the corpus folder must hold still (no file's size or modification time "
            "changing) before the watcher starts a build, so a file still being copied is "
            "never read half."),
    Setting("WATCH_RESCAN_S", 60.0,
            "Seconds between full rescans of the corpus folder, which find the changes "
            "inotify never reports (network shares)."),
    Setting("SYNC_HOURS", 0.0,
            "Hours between the server's own runs of `make sync` (the corpus's sources.yaml; "
            "the first when it starts), whose new and changed documents the folder watcher "
            "then builds. One run however many workers. 0: never; run `make sync` by hand "
            "or from cron."),
    Setting("WEBHOOK_URL", "",
            "Address that gets a JSON POST when a build job ends (the documents added, "
            "changed, removed and failed), retried with backoff; it never holds up a build. "
            "Empty: none."),
    Setting("WEBHOOK_SECRET", "",
            "Key of the HMAC-SHA256 signature over the webhook's body, sent as "
            "`X-Plansearch-Signature: sha256=<hex>`. Empty: unsigned."),
    Setting("JOB_BUILDER", None,
            "Programmatic only: the function that runs one admin build job. Unset: a "
            "separate builder process. Tests pass one that builds in-process.",
            from_env=False),
    Setting("JOB_RUNNER_THREAD", True,
            "Programmatic only: start the admin job runner's thread on a worker's first "
            "request. Tests set it to False and run jobs step by step.",
            from_env=False),
)

DEFAULTS = {s.name: s.default for s in SETTINGS}


def coerce(value: str, default: Any) -> Any:
    if isinstance(default, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return value


def load_config(overrides: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults, then PLANSEARCH_* environment variables, then explicit overrides."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for setting in SETTINGS:
        if setting.from_env and setting.env in environ and environ[setting.env] != "":
            try:
                config[setting.name] = coerce(environ[setting.env], setting.default)
            except ValueError:
                raise ValueError(f"{setting.env}={environ[setting.env]!r} is not a valid "
                                 f"{type(setting.default).__name__}") from None
    if overrides:
        config.update(overrides)
    return config
