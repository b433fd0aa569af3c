"""PLANSEARCH_ACCESS=sso (issue #23): OpenID Connect sign-in with Authlib against a local
provider the tests start on 127.0.0.1. An allowed person (by email domain or group) gets
in; anyone else gets a 403 page; state, nonce and signature are checked; tools still use
read keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider
from werkzeug.test import TestResponse

from service.web.sso import discovery_url
from tests.web.test_access_model import KEY, corpus, document_ids, make  # noqa: F401

GROUP = "5d3c7a52-0000-4000-8000-00000000abcd"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider() as running:
        yield running


@pytest.fixture(autouse=True)
def well_behaved(provider: OidcProvider) -> None:
    provider.person = {"sub": "alice", "email": "alice@nhs.net"}
    provider.wrong_nonce = provider.foreign_key = False


@pytest.fixture(scope="module")
def sso_app(corpus: Path, provider: OidcProvider) -> Flask:  # noqa: F811
    return make(corpus, ACCESS="sso", SSO_ISSUER=provider.issuer, SSO_CLIENT_ID=CLIENT_ID,
                SSO_CLIENT_SECRET=CLIENT_SECRET, SSO_DOMAINS="nhs.net, @example.nhs.uk",
                SSO_GROUPS=GROUP, API_KEYS=KEY)


@pytest.fixture
def client(sso_app: Flask) -> FlaskClient:
    return sso_app.test_client()


def to_provider(client: FlaskClient, next_path: str = "/") -> str:
    """Start signing in; the provider's answer: the callback URL with code and state."""
    start = client.get(f"/sign-in/sso?next={next_path}")
    assert start.status_code == 302, start.get_data(as_text=True)
    approved = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert approved.status_code == 302, approved.text
    return approved.headers["Location"]


def callback(client: FlaskClient, url: str) -> TestResponse:
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("localhost", "/sign-in/callback")
    return client.get(f"{parts.path}?{parts.query}")


def test_the_sign_in_page_offers_the_organisation_account(client: FlaskClient) -> None:
    assert client.get("/").headers["Location"] == "/sign-in?next=/"
    page = client.get("/sign-in?next=/documents/x").get_data(as_text=True)
    assert "Sign in with your organisation account" in page
    assert 'href="/sign-in/sso?next=/documents/x"' in page
    assert 'name="key"' not in page


def test_an_allowed_person_signs_in_and_comes_back(sso_app: Flask, client: FlaskClient,
                                                   provider: OidcProvider) -> None:
    wanted = f"/documents/{document_ids(sso_app)['txt']}"
    answered = callback(client, to_provider(client, wanted))
    assert answered.status_code == 200
    html = answered.get_data(as_text=True)
    # the next request starts on our site, so the SameSite=Strict cookie goes with it
    assert f'<meta http-equiv="refresh" content="0; url={wanted}">' in html
    assert "Signed in as alice@nhs.net" in html
    assert client.get(wanted).status_code == 200
    assert client.get("/").status_code == 200
    assert client.get("/api/documents").status_code == 200
    assert client.get_cookie("plansearch_oidc", path="/sign-in/callback") is None


def test_the_transaction_cookie_is_lax_and_the_session_cookie_strict(
        client: FlaskClient) -> None:
    start = client.get("/sign-in/sso")
    cookies = {header.split("=", 1)[0]: header for header in start.headers.getlist("Set-Cookie")}
    assert "SameSite=Lax" in cookies["plansearch_oidc"]
    assert "HttpOnly" in cookies["plansearch_oidc"]
    assert "Path=/sign-in/callback" in cookies["plansearch_oidc"]
    url = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    answered = callback(client, url.headers["Location"])
    session = [h for h in answered.headers.getlist("Set-Cookie")
               if h.startswith("plansearch_session=")]
    assert len(session) == 1 and "SameSite=Strict" in session[0] and "HttpOnly" in session[0]


def test_a_member_of_an_allowed_group_gets_in_from_another_domain(
        client: FlaskClient, provider: OidcProvider) -> None:
    provider.person = {"sub": "bob", "email": "bob@partner.org", "groups": ["other", GROUP]}
    assert callback(client, to_provider(client)).status_code == 200
    assert client.get("/").status_code == 200


def test_a_subdomain_email_of_an_allowed_domain_is_matched_exactly(
        client: FlaskClient, provider: OidcProvider) -> None:
    provider.person = {"sub": "eve", "email": "eve@evil-nhs.net"}
    assert callback(client, to_provider(client)).status_code == 403
    provider.person = {"sub": "carol", "preferred_username": "Carol@Example.NHS.uk"}
    assert callback(client, to_provider(client)).status_code == 200


def test_a_person_outside_the_domains_and_groups_gets_a_clear_403(
        client: FlaskClient, provider: OidcProvider) -> None:
    provider.person = {"sub": "mallory", "email": "mallory@gmail.com", "groups": ["other"]}
    refused = callback(client, to_provider(client))
    assert refused.status_code == 403
    assert "This account may not use Plansearch" in refused.get_data(as_text=True)
    assert "mallory@gmail.com" in refused.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert client.get("/api/documents").status_code == 401


def test_a_changed_state_is_refused(client: FlaskClient, provider: OidcProvider) -> None:
    url = to_provider(client)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    forged = f"/sign-in/callback?code={query['code'][0]}&state=forged-state"
    refused = client.get(forged)
    assert refused.status_code == 400
    assert "did not check out" in refused.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_a_callback_that_did_not_start_in_this_browser_is_refused(
        sso_app: Flask, client: FlaskClient) -> None:
    url = to_provider(client)
    stranger = sso_app.test_client()  # e.g. a link an attacker sends after starting it himself
    refused = callback(stranger, url)
    assert refused.status_code == 400
    assert "did not start here" in refused.get_data(as_text=True)
    assert stranger.get("/").status_code == 302


def test_a_wrong_nonce_is_refused(client: FlaskClient, provider: OidcProvider) -> None:
    provider.wrong_nonce = True
    refused = callback(client, to_provider(client))
    assert refused.status_code == 400
    assert "nonce" in refused.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_an_id_token_signed_by_another_key_is_refused(client: FlaskClient,
                                                      provider: OidcProvider) -> None:
    provider.foreign_key = True
    assert callback(client, to_provider(client)).status_code == 400
    assert client.get("/").status_code == 302


def test_a_callback_is_good_once(client: FlaskClient) -> None:
    url = to_provider(client)
    assert callback(client, url).status_code == 200
    client.post("/sign-out", data={"csrf_token": csrf(client)})
    assert callback(client, url).status_code == 400


def csrf(client: FlaskClient) -> str:
    from tests.web.test_access_model import csrf_from

    return csrf_from(client.get("/"))


def test_tools_still_use_read_keys_in_sso_mode(client: FlaskClient) -> None:
    assert client.get("/api/search?q=urgent", headers={"X-API-Key": KEY}).status_code == 200
    assert client.get("/api/search?q=urgent").status_code == 401
    assert client.post("/sign-in", data={"key": KEY}).status_code == 404  # no key form


def test_an_unreachable_provider_gives_a_clear_page(corpus: Path) -> None:  # noqa: F811
    app = make(corpus, ACCESS="sso", SSO_ISSUER="http://127.0.0.1:9", SSO_CLIENT_ID="c",
               SSO_CLIENT_SECRET="s", SSO_DOMAINS="nhs.net")
    answered = app.test_client().get("/sign-in/sso")
    assert answered.status_code == 502
    assert "the sign-in service did not answer" in answered.get_data(as_text=True)


@pytest.mark.parametrize("issuer", ["https://login.example/tenant/v2.0",
                                    "https://login.example/tenant/v2.0/",
                                    "https://login.example/tenant/v2.0/.well-known/"
                                    "openid-configuration"])
def test_the_discovery_url_comes_from_the_issuer(issuer: str) -> None:
    assert discovery_url(issuer) == \
        "https://login.example/tenant/v2.0/.well-known/openid-configuration"


def test_sso_sessions_count_by_person_for_rate_limits(corpus: Path,  # noqa: F811
                                                      provider: OidcProvider) -> None:
    app = make(corpus, ACCESS="sso", SSO_ISSUER=provider.issuer, SSO_CLIENT_ID=CLIENT_ID,
               SSO_CLIENT_SECRET=CLIENT_SECRET, SSO_DOMAINS="nhs.net",
               RATE_LIMIT_SEARCH="2/minute")
    one, two = app.test_client(), app.test_client()
    for browser, address in ((one, "192.0.2.10"), (two, "192.0.2.10")):
        browser.environ_base["REMOTE_ADDR"] = address
    callback(one, to_provider(one))
    provider.person = {"sub": "dave", "email": "dave@nhs.net"}
    callback(two, to_provider(two))
    search = "/api/search?q=urgent&mode=keyword"
    assert [one.get(search).status_code for _ in range(3)] == [200, 200, 429]
    assert two.get(search).status_code == 200  # same address, another person
