"""Who a request is from, for sharing the chat slots fairly (issue 23): an API key this
server issued, else the client address. The same identity the rate limits count
(access.py's client_identity, which lives inside its installer); computed here from the
settings so the slots don't depend on how access control is wired."""

from __future__ import annotations

import hmac

from flask import current_app, request

from service.web.ratelimits import key_identity


def issued_keys() -> list[str]:
    """The read keys and the admin token: the secrets a client may identify itself by."""
    config = current_app.config
    keys = [key.strip() for key in str(config.get("API_KEYS") or "").split(",") if key.strip()]
    return keys + ([str(config["ADMIN_TOKEN"])] if config.get("ADMIN_TOKEN") else [])


def presented_key() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-API-Key") or None


def client_identity() -> str:
    """'key:<digest>' for a key we issued, else 'addr:<address>': a made-up key must not
    buy a fresh share with every request."""
    presented = presented_key()
    if presented is not None:
        given = presented.encode()
        # every key compared, in constant time: no early exit tells which one matched
        if sum(hmac.compare_digest(given, key.encode()) for key in issued_keys()):
            return key_identity(presented)
    return f"addr:{request.remote_addr}"
