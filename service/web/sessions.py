"""The session cookie of the keys and sso modes: its secret, its flags and the CSRF token
it carries. The cookie never holds a key, only an HMAC of it, so a copied cookie stops
working when its key is removed from PLANSEARCH_API_KEYS."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Any

from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface

SECRET_FILE = "secret_key"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class TlsAwareSessionInterface(SecureCookieSessionInterface):
    """Marks the cookie Secure when the request came over TLS (directly, or through a
    trusted proxy's X-Forwarded-Proto), so plain-http intranet servers still work."""

    def get_cookie_secure(self, app: Flask) -> bool:
        from flask import request

        return bool(request.is_secure)


def secret_key(config: dict[str, Any]) -> str:
    """PLANSEARCH_SECRET_KEY, else the one kept in INDEX_DIR (made on first use)."""
    configured = str(config.get("SECRET_KEY") or "")
    if configured:
        return configured
    folder = Path(config["INDEX_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SECRET_FILE
    if not path.exists():
        # written whole under a private name, then linked into place: two processes
        # starting at once both end up reading the one that won
        temporary = folder / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip()


def install_sessions(app: Flask) -> None:
    """A signed HttpOnly, SameSite=Strict cookie, Secure over TLS."""
    app.secret_key = secret_key(app.config)
    app.config.update(SESSION_COOKIE_NAME="plansearch_session", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Strict")
    app.session_interface = TlsAwareSessionInterface()


def key_session_id(secret: str, key: str) -> str:
    """What the session stores for a read key: an HMAC, useless without the server."""
    return hmac.new(secret.encode(), b"read-key:" + key.encode(), hashlib.sha256).hexdigest()


def sign_in_session(app: Flask, **identity: str) -> None:
    """A fresh session (a new CSRF token too) for whoever just signed in."""
    session.clear()
    session.update(identity)
    session["since"] = time.time()
    session[CSRF_FIELD] = secrets.token_urlsafe(32)


def session_current(app: Flask) -> bool:
    """False once PLANSEARCH_SESSION_HOURS have passed since sign-in."""
    since = session.get("since")
    hours = float(app.config["SESSION_HOURS"])
    return isinstance(since, int | float) and time.time() - since < hours * 3600


def csrf_token() -> str:
    """This session's CSRF token, made on first use."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return str(session[CSRF_FIELD])


def csrf_valid(sent: str | None) -> bool:
    """Whether `sent` is this session's CSRF token (constant time)."""
    expected = session.get(CSRF_FIELD)
    return bool(sent and expected) and hmac.compare_digest(str(sent).encode(),
                                                           str(expected).encode())
