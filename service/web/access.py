"""Who may call what: the admin bearer token, optional read-only API keys, and per-IP
rate limits (flask-limiter). Tokens are compared in constant time and only ever read
from headers, never cookies, so there is nothing for a cross-site request to ride on."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address

from service.web.errors import ApiError, error_response, wants_json

ENABLE_ADMIN = ("admin endpoints are disabled; set PLANSEARCH_ADMIN_TOKEN to a long random "
                "secret (e.g. `python -c \"import secrets; print(secrets.token_urlsafe(32))\"`) "
                "and restart the server")
# Endpoints a read-only API key unlocks when PLANSEARCH_API_KEYS is set.
KEYED_ENDPOINTS = {"api.search", "api.chat", "api.documents", "api.document"}
SEARCH_ENDPOINTS = ("api.search", "api.chat")


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


def install_access_controls(app: Flask) -> Limiter:
    """API-key checks and rate limits; the admin blueprint checks its own token."""
    keys = api_keys(app)

    @app.before_request
    def check_api_key() -> None:
        if not keys or request.endpoint not in KEYED_ENDPOINTS:
            return
        # the admin token opens everything a read-only key does
        allowed = keys + ([app.config["ADMIN_TOKEN"]] if app.config.get("ADMIN_TOKEN") else [])
        if not matches(presented_token(), allowed):
            raise ApiError(401, "this server requires an API key: send `Authorization: Bearer "
                                "<key>` or `X-API-Key: <key>`")

    limiter = Limiter(get_remote_address, app=app, storage_uri=app.config["RATE_LIMIT_STORAGE"],
                      headers_enabled=True, key_prefix="plansearch")
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
