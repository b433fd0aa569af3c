"""A tiny OpenID Connect provider on 127.0.0.1 for the sso tests: a discovery document,
an authorize endpoint that approves whichever person the test chose, a token endpoint
that checks the client and the code, and a JWKS. Its id_tokens are signed RS256 with a
key made for this run. A test may make it misbehave (a wrong nonce, a foreign key)."""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from browser_support import LiveServer
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from markupsafe import escape
from werkzeug.wrappers import Request, Response

CLIENT_ID, CLIENT_SECRET = "plansearch-test", "client-secret-0123456789"


class OidcProvider:
    """The provider in a background thread; `person` holds the claims it approves next."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.person: dict[str, Any] = {"sub": "alice", "email": "alice@nhs.net"}
        self.wrong_nonce = False
        # True: a page with a Continue link, as a real provider's sign-in page is; the
        # browser then comes back from the provider's site, not from ours
        self.consent = False
        self.foreign_key = False
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens_issued = 0
        self._server = LiveServer(self.wsgi)
        self.issuer = self._server.url

    def __enter__(self) -> OidcProvider:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        routes = {"/.well-known/openid-configuration": self.discovery,
                  "/authorize": self.authorize, "/approve": self.approve,
                  "/token": self.token, "/jwks": self.jwks}
        handler = routes.get(request.path)
        response = handler(request) if handler else Response("not found", 404)
        return response(environ, start_response)

    def discovery(self, request: Request) -> Response:
        return json_response({
            "issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"]})

    def authorize(self, request: Request) -> Response:
        """Approve `person` at once, as a provider does for someone already signed in."""
        args = request.args
        if args.get("client_id") != CLIENT_ID or args.get("response_type") != "code":
            return Response("bad authorize request", 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": args.get("nonce"), "redirect_uri": args["redirect_uri"],
                            "person": dict(self.person)}
        query = urlencode({"code": code, "state": args.get("state", "")})
        back = f"{args['redirect_uri']}?{query}"
        if self.consent:
            approve = escape(f"/approve?{urlencode({'to': back})}")
            return Response('<!doctype html><title>Sign in</title><link rel="icon" '
                            f'href="data:,"><a href="{approve}">Continue</a>',
                            mimetype="text/html")
        return Response(status=302, headers={"Location": back})

    def approve(self, request: Request) -> Response:
        return Response(status=302, headers={"Location": request.args["to"]})

    def token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return json_response({"error": "invalid_client"}, 401)
        grant = self.codes.pop(request.form.get("code", ""), None)
        if grant is None or request.form.get("redirect_uri") != grant["redirect_uri"]:
            return json_response({"error": "invalid_grant"}, 400)
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                  "nonce": "not-the-nonce" if self.wrong_nonce else grant["nonce"],
                  **grant["person"]}
        key = RSAKey.generate_key(2048, parameters={"kid": "test-key"}) \
            if self.foreign_key else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)
        self.tokens_issued += 1
        return json_response({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                              "expires_in": 300, "id_token": id_token})

    def jwks(self, request: Request) -> Response:
        return json_response(KeySet([self.key]).as_dict(private=False))


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    import json

    return Response(json.dumps(payload), status, mimetype="application/json")
