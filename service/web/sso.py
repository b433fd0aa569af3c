"""OpenID Connect sign-in for PLANSEARCH_ACCESS=sso, with Authlib: Entra ID, or any
issuer with a discovery document. Authlib makes the state and nonce and checks them, the
id_token's signature (the issuer's JWKS), issuer, audience and expiry.

The session cookie is SameSite=Strict, so a browser does not send it on the issuer's
redirect back to us. The state Authlib keeps in the session therefore travels in a
short-lived SameSite=Lax cookie of its own, and the callback answers with a page that
moves on by itself: that next request starts on our site, so the Strict cookie goes
with it."""

from __future__ import annotations

from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, abort, current_app, render_template, request, session, url_for
from itsdangerous import BadData, URLSafeTimedSerializer
from joserfc.errors import JoseError

from service.web.access import policy
from service.web.access_table import SSO, split_list
from service.web.sessions import sign_in_session

blueprint = Blueprint("sso", __name__)
CLIENT = "oidc"  # Authlib reads no settings of its own under this prefix
TRANSACTION_COOKIE = "plansearch_oidc"
TRANSACTION_SECONDS = 600
STATE_PREFIX = f"_state_{CLIENT}_"
ISSUER_TIMEOUT_S = 10


def discovery_url(issuer: str) -> str:
    """The issuer's discovery document (the issuer itself when it already names it)."""
    issuer = issuer.strip().rstrip("/")
    suffix = "/.well-known/openid-configuration"
    return issuer if issuer.endswith(suffix) else issuer + suffix


def init_sso(app: Flask) -> None:
    """Register the OIDC client; the discovery document is read at the first sign-in."""
    oauth = OAuth(app)
    oauth.register(CLIENT, client_id=app.config["SSO_CLIENT_ID"],
                   client_secret=app.config["SSO_CLIENT_SECRET"],
                   server_metadata_url=discovery_url(str(app.config["SSO_ISSUER"])),
                   client_kwargs={"scope": "openid email profile",
                                  "default_timeout": ISSUER_TIMEOUT_S})
    app.extensions["plansearch_sso"] = oauth.create_client(CLIENT)


def serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.secret_key), salt="plansearch-oidc")


def allowed(claims: dict[str, Any], config: dict[str, Any]) -> bool:
    """A person from an allowed email domain, or a member of an allowed group."""
    email = str(claims.get("email") or claims.get("preferred_username") or "").lower()
    domains = {domain.lower().lstrip("@") for domain in split_list(config["SSO_DOMAINS"])}
    if "@" in email and email.rsplit("@", 1)[1] in domains:
        return True
    groups = claims.get(str(config["SSO_GROUP_CLAIM"])) or []
    return isinstance(groups, list) and bool(set(map(str, groups)) &
                                             set(split_list(config["SSO_GROUPS"])))


@blueprint.get("/sign-in/sso")
def start() -> Any:
    """Off to the issuer, with the state and nonce in the transaction cookie."""
    from service.web.signin import safe_next

    if policy().mode != SSO:
        abort(404)
    client = current_app.extensions["plansearch_sso"]
    try:
        response = client.authorize_redirect(url_for("sso.callback", _external=True))
    except requests.RequestException as error:
        return failed(502, f"the sign-in service did not answer ({type(error).__name__})")
    states = {name: session.pop(name) for name in list(session) if name.startswith(STATE_PREFIX)}
    response.set_cookie(TRANSACTION_COOKIE, serializer().dumps(
        {"states": states, "next": safe_next(request.args.get("next"))}),
        max_age=TRANSACTION_SECONDS, path=url_for("sso.callback"), httponly=True,
        samesite="Lax", secure=request.is_secure)
    return response


@blueprint.get("/sign-in/callback")
def callback() -> Any:
    """The issuer's answer: check it, admit an allowed person, refuse anyone else."""
    if policy().mode != SSO:
        abort(404)
    try:
        transaction = serializer().loads(request.cookies.get(TRANSACTION_COOKIE, ""),
                                         max_age=TRANSACTION_SECONDS)
    except BadData:
        return failed(400, "this sign-in did not start here, or took longer than 10 minutes")
    session.update(transaction["states"])  # where Authlib looks for its state and nonce
    try:
        token = current_app.extensions["plansearch_sso"].authorize_access_token()
    except (OAuthError, JoseError) as error:
        return failed(400, f"the sign-in answer did not check out ({error})")
    except requests.RequestException as error:
        return failed(502, f"the sign-in service did not answer ({type(error).__name__})")
    claims = dict(token.get("userinfo") or {})
    person = str(claims.get("email") or claims.get("preferred_username") or claims["sub"])
    if not allowed(claims, current_app.config):
        session.clear()
        current_app.logger.warning("sso sign-in refused for %s", person)
        response = current_app.make_response((render_template(
            "sso_refused.html", person=person), 403))
    else:
        sign_in_session(current_app, user=person)
        response = current_app.make_response(render_template(
            "signed_in.html", next=transaction["next"], person=person))
    response.delete_cookie(TRANSACTION_COOKIE, path=url_for("sso.callback"))
    return response


def failed(status: int, reason: str) -> Any:
    session.clear()
    return render_template("sso_failed.html", reason=reason), status
