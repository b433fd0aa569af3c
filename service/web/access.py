"""Who may call what: the access model of ACCESS (open, keys or sso; the table of what
each endpoint needs is in access_table), the admin bearer token, and rate limits
(flask-limiter) per API key, signed-in person or client address. Tokens are compared in
constant time. A header key or token opens what it opens; the session cookie opens only
the read endpoints, and an API POST riding on it must also carry its CSRF token."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, Response, current_app, redirect, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from werkzeug.wrappers import Response as WerkzeugResponse

from service.web.access_table import (
    ACCESS,
    ADMIN,
    KEYS,
    OPEN,
    PUBLIC,
    READ,
    SSO,
    access_mode,
    split_list,
)
from service.web.errors import ApiError, error_response, wants_json
from service.web.ratelimits import TrustedProxyFix, address_in, key_identity, parse_networks
from service.web.sessions import (
    CSRF_HEADER,
    csrf_valid,
    install_sessions,
    key_session_id,
    session_current,
)
from service.web.versions import v1_endpoints

ENABLE_ADMIN = ("admin endpoints are disabled; set PLANSEARCH_ADMIN_TOKEN to a long random "
                "secret (e.g. `python -c \"import secrets; print(secrets.token_urlsafe(32))\"`) "
                "and restart the server")
SEND_KEY = "send a read key as `Authorization: Bearer <key>` or `X-API-Key: <key>`"
SEARCH = dict.fromkeys(("api.search", "api.chat", "api.compare", "api.search_csv",
                        "api.feedback"), "search")
SEARCH_ENDPOINTS = (*SEARCH, *v1_endpoints(SEARCH))  # one budget over /api and /api/v1
SIGN_IN_LIMIT = "20/minute"  # per address: a pasted key is a guess an attacker can repeat
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
RATE_FILE = "ratelimits.sqlite"


@dataclass(frozen=True)
class Policy:
    """The server's access mode and the secrets that open its read endpoints."""

    mode: str
    keys: tuple[str, ...] = ()
    admin_token: str = ""
    # what a signed-in session stores (an HMAC of the key) -> the key's rate-limit identity
    session_ids: dict[str, str] = field(default_factory=dict)

    def header_identity(self) -> str | None:
        """The rate-limit identity of a key or admin token sent in a header, if valid."""
        token = presented_token()
        readers = self.keys + ((self.admin_token,) if self.admin_token else ())
        return key_identity(token) if token and matches(token, readers) else None

    def session_identity(self) -> str | None:
        """Who the session cookie says signed in, while that sign-in still holds."""
        if self.mode == OPEN or not session_current(current_app):
            return None
        if self.mode == KEYS:
            return self.session_ids.get(str(session.get("key", "")))
        user = session.get("user")
        if self.mode == SSO and isinstance(user, str) and user:
            return "sso:" + hashlib.sha256(user.encode()).hexdigest()[:24]
        return None


def policy() -> Policy:
    """This app's access policy."""
    found: Policy = current_app.extensions["plansearch_access"]
    return found


def client_identity() -> str:
    """Who a request is from, for the rate limits and the chat slots' fair shares: a key
    we issued or a signed-in session, else the address. A made-up key gets no identity
    of its own: it would buy a fresh budget with every request."""
    current = policy()
    return current.header_identity() or current.session_identity() or \
        f"addr:{request.remote_addr}"


def presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-API-Key") or None


def matches(presented: str | None, secrets: Iterable[str]) -> bool:
    """Constant-time comparison against every secret (no early exit on a match)."""
    if presented is None:
        return False
    given = presented.encode()
    found = False
    for secret in secrets:
        found |= hmac.compare_digest(given, secret.encode())
    return found


def require_admin() -> None:
    """401 without the right bearer token; 403 when no token is configured at all."""
    token = str(current_app.config.get("ADMIN_TOKEN") or "")
    if not token:
        raise ApiError(403, ENABLE_ADMIN, "admin_disabled")
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not matches(value.strip(), [token]):
        raise ApiError(401, "send the admin token as `Authorization: Bearer <token>`")


def storage_uri(app: Flask) -> str:
    """The configured counter store; by default a SQLite file beside the index, which
    every worker process shares."""
    configured = str(app.config.get("RATE_LIMIT_STORAGE") or "")
    return configured or f"sqlite://{Path(app.config['INDEX_DIR']).resolve() / RATE_FILE}"


def make_policy(app: Flask) -> Policy:
    """The mode and secrets from the settings; a mode nobody could sign in to fails here."""
    mode = access_mode(app.config)
    keys = tuple(split_list(app.config.get("API_KEYS")))
    if mode != OPEN:
        install_sessions(app)
    secret = str(app.secret_key or "")
    return Policy(mode, keys, str(app.config.get("ADMIN_TOKEN") or ""),
                  {key_session_id(secret, key): key_identity(key) for key in keys}
                  if mode != OPEN else {})


def refuse() -> WerkzeugResponse:
    """No read access: pages go to the sign-in page, the API answers 401."""
    if wants_json() or request.method not in SAFE_METHODS:
        how = SEND_KEY if policy().mode == KEYS else f"sign in at /sign-in, or {SEND_KEY}"
        raise ApiError(401, f"this server requires sign-in: {how}")
    target = request.full_path.rstrip("?")
    return redirect(url_for("signin.sign_in", next=target))


def enforce_access() -> WerkzeugResponse | None:
    """The ACCESS table, before every request; missing endpoints are refused."""
    endpoint = request.endpoint
    if endpoint is None:
        return None  # routing failed: a 404 or 405 follows and shows nothing
    level = ACCESS.get(endpoint)
    if level == ADMIN:
        require_admin()  # in every mode, as the admin blueprint also does
        return None
    current = policy()
    if current.mode == OPEN or level == PUBLIC:
        return None
    if level == READ and current.header_identity():
        return None
    if level == READ and current.session_identity() and not presented_token():
        # a cookie rides along on any request the browser sends; the header cannot
        if request.method not in SAFE_METHODS and not csrf_valid(request.headers.get(
                CSRF_HEADER)):
            raise ApiError(400, f"a signed-in page must send its CSRF token in {CSRF_HEADER} "
                                "(the csrf-token meta tag); reload the page", "csrf_invalid")
        return None
    return refuse()


def private_reads(response: Response) -> Response:
    """Protected answers must never be kept by a shared cache for the next person."""
    if policy().mode != OPEN and ACCESS.get(request.endpoint or "") == READ:
        response.cache_control.private = True
        response.vary.add("Cookie")
    return response


def install_access_controls(app: Flask) -> Limiter:
    """The access model and rate limits. The factory registers the sign-in pages first
    (they import this module), so that the sign-in form gets its own limit here."""
    app.extensions["plansearch_access"] = make_policy(app)
    proxies = parse_networks(str(app.config.get("TRUSTED_PROXIES") or ""))
    exempt = parse_networks(str(app.config.get("RATE_LIMIT_EXEMPT") or ""))
    if proxies:
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, proxies)  # type: ignore[method-assign]

    limiter = Limiter(client_identity, app=app, storage_uri=storage_uri(app),
                      headers_enabled=True, key_prefix="plansearch",
                      in_memory_fallback_enabled=True)  # a full disk fails open, per worker
    # after the limiter's own check, so guessing the admin token still meets its limit
    app.before_request(enforce_access)
    app.after_request(private_reads)

    @limiter.request_filter
    def exempt_address() -> bool:
        # after TrustedProxyFix: behind a trusted proxy on loopback this is the client
        return address_in(request.remote_addr, exempt)
    shared = limiter.shared_limit(app.config["RATE_LIMIT_SEARCH"], scope="search")
    for endpoint in SEARCH_ENDPOINTS:
        app.view_functions[endpoint] = shared(app.view_functions[endpoint])  # type: ignore
    view = app.view_functions["signin.sign_in_form"]
    app.view_functions["signin.sign_in_form"] = limiter.limit(SIGN_IN_LIMIT)(view)  # type: ignore

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded) -> Response | tuple[str, int]:
        message = f"rate limit exceeded ({error.description}); slow down and retry later"
        if wants_json():
            return error_response(429, message, "rate_limited")
        return f"<h1>Too many requests</h1><p>{message}</p>", 429

    return limiter
