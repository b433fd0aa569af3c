"""The sign-in and sign-out pages of the keys and sso modes, and the values every
template gets (the mode, whether someone is signed in, the CSRF token)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as WerkzeugResponse

from service.web.access import matches, policy
from service.web.access_table import KEYS, OPEN
from service.web.sessions import CSRF_FIELD, csrf_token, csrf_valid, key_session_id, sign_in_session

blueprint = Blueprint("signin", __name__)
STALE_FORM = ("This form's security token is missing or out of date (it lasts as long as "
              "your browser session). Reload the page and try again.")


def safe_next(target: str | None) -> str:
    """A local path to go back to after signing in; anything else (another site, a
    scheme, a protocol-relative `//host`, a backslash, control characters) gives `/`."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 33 or ord(c) == 127 for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.startswith(("/sign-in", "/sign-out")):
        return "/"
    return target


def template_values() -> dict[str, Any]:
    """What every page may show: the sign-out button and the CSRF token for app.js."""
    mode = policy().mode
    if mode == OPEN:
        return {"access_mode": mode, "signed_in": False, "csrf_token": lambda: ""}
    return {"access_mode": mode, "signed_in": bool(policy().session_identity()),
            "csrf_token": csrf_token}


def check_form_csrf() -> None:
    if not csrf_valid(request.form.get(CSRF_FIELD)):
        abort(400, description=STALE_FORM)


@blueprint.get("/sign-in")
def sign_in() -> Any:
    """The sign-in page: a key field (keys) or the organisation's sign-in button (sso)."""
    target = safe_next(request.args.get("next"))
    if policy().mode == OPEN or policy().session_identity():
        return redirect(target)
    return render_template("sign_in.html", next=target, error=None)


@blueprint.post("/sign-in")
def sign_in_form() -> Any:
    """Check a pasted read key; the session keeps only an HMAC of it."""
    current = policy()
    if current.mode != KEYS:
        abort(404)
    check_form_csrf()
    key, target = request.form.get("key", "").strip(), safe_next(request.form.get("next"))
    if not matches(key, current.keys):
        current_app.logger.warning("sign-in with an unknown key from %s", request.remote_addr)
        return render_template("sign_in.html", next=target,
                               error="That key is not one this server accepts."), 401
    sign_in_session(current_app, key=key_session_id(str(current_app.secret_key), key))
    return redirect(target, 303)


@blueprint.post("/sign-out")
def sign_out() -> WerkzeugResponse:
    """Forget the sign-in; the form's CSRF token stops a page elsewhere doing it."""
    if policy().mode == OPEN:
        return redirect("/", 303)
    check_form_csrf()
    session.clear()
    return redirect(url_for(".sign_in"), 303)
