"""Who may call what: the admin bearer token, optional read-only API keys, and rate
limits (flask-limiter) per API key or client address. Tokens are compared in constant
time and only ever read from headers, never cookies, so there is nothing for a
cross-site request to ride on."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from pathlib import Path

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

from service.web.errors import ApiError, error_response, wants_json
from service.web.ratelimits import TrustedProxyFix, address_in, key_identity, parse_networks

ENABLE_ADMIN = ("admin endpoints are disabled; set PLANSEARCH_ADMIN_TOKEN to a long random "
                "secret (e.g. `python -c \"import secrets; print(secrets.token_urlsafe(32))\"`) "
                "and restart the server")
# Endpoints a read-only API key unlocks when PLANSEARCH_API_KEYS is set.
KEYED_ENDPOINTS = {"api.search", "api.chat", "api.documents", "api.document"}
SEARCH_ENDPOINTS = ("api.search", "api.chat")
RATE_FILE = "ratelimits.sqlite"


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


def api_keys(app: Flask) -> list[str]:
    return [key.strip() for key in str(app.config.get("API_KEYS") or "").split(",")
            if key.strip()]


def storage_uri(app: Flask) -> str:
    """The configured counter store; by default a SQLite file beside the index, which
    every worker process shares."""
    configured = str(app.config.get("RATE_LIMIT_STORAGE") or "")
    return configured or f"sqlite://{Path(app.config['INDEX_DIR']).resolve() / RATE_FILE}"


def install_access_controls(app: Flask) -> Limiter:
    """API-key checks and rate limits; the admin blueprint checks its own token."""
    keys = api_keys(app)
    proxies = parse_networks(str(app.config.get("TRUSTED_PROXIES") or ""))
    exempt = parse_networks(str(app.config.get("RATE_LIMIT_EXEMPT") or ""))
    if proxies:
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, proxies)  # type: ignore[method-assign]
    known = keys + ([str(app.config["ADMIN_TOKEN"])] if app.config.get("ADMIN_TOKEN") else [])

    def client_identity() -> str:
        # only a key we issued gets its own budget: a made-up one would be a fresh
        # budget per request
        token = presented_token()
        if token is not None and matches(token, known):
            return key_identity(token)
        return f"addr:{request.remote_addr}"

    @app.before_request
    def check_api_key() -> None:
        if not keys or request.endpoint not in KEYED_ENDPOINTS:
            return
        # the admin token opens everything a read-only key does
        allowed = keys + ([app.config["ADMIN_TOKEN"]] if app.config.get("ADMIN_TOKEN") else [])
        if not matches(presented_token(), allowed):
            raise ApiError(401, "this server requires an API key: send `Authorization: Bearer "
                                "<key>` or `X-API-Key: <key>`")

    limiter = Limiter(client_identity, app=app, storage_uri=storage_uri(app),
                      headers_enabled=True, key_prefix="plansearch",
                      in_memory_fallback_enabled=True)  # a full disk fails open, per worker

    @limiter.request_filter
    def exempt_address() -> bool:
        # after TrustedProxyFix: behind a trusted proxy on loopback this is the client
        return address_in(request.remote_addr, exempt)
    shared = limiter.shared_limit(app.config["RATE_LIMIT_SEARCH"], scope="search")
    for endpoint in SEARCH_ENDPOINTS:
        app.view_functions[endpoint] = shared(app.view_functions[endpoint])  # type: ignore

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded) -> Response | tuple[str, int]:
        message = f"rate limit exceeded ({error.description}); slow down and retry later"
        if wants_json():
            return error_response(429, message, "rate_limited")
        return f"<h1>Too many requests</h1><p>{message}</p>", 429

    return limiter
