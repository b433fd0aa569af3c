"""sso sign-in in a real browser (issue #23), against the local OpenID Connect provider.
The app is opened as `localhost` and the provider answers on `127.0.0.1`, so they are
different sites, as Plansearch and Entra ID are: the provider's redirect back does not
carry the SameSite=Strict session cookie. The sign-in must still land on the page asked
for, and the PDF view must still fetch its file with the cookie."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import LiveServer, Recorder
from flask import Flask
from oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider

from tests.web.test_access_model import corpus, document_ids, make  # noqa: F401

try:
    from playwright.sync_api import BrowserContext, Page, expect
except ModuleNotFoundError:  # conftest skips every `browser` test, or fails them in CI
    pass

pytestmark = pytest.mark.browser
RENDER_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider() as running:
        yield running


@pytest.fixture(scope="module")
def sso_app(corpus: Path, provider: OidcProvider) -> Flask:  # noqa: F811
    return make(corpus, ACCESS="sso", SSO_ISSUER=provider.issuer, SSO_CLIENT_ID=CLIENT_ID,
                SSO_CLIENT_SECRET=CLIENT_SECRET, SSO_DOMAINS="nhs.net")


@pytest.fixture(scope="module")
def server(sso_app: Flask) -> Iterator[LiveServer]:
    with LiveServer(sso_app) as live:
        live.url = live.url.replace("127.0.0.1", "localhost")
        live.netloc = live.netloc.replace("127.0.0.1", "localhost")
        yield live


def test_signing_in_with_the_organisation_account_lands_on_the_page_asked_for(
        page: Page, context: BrowserContext, recorder: Recorder, server: LiveServer,
        sso_app: Flask, provider: OidcProvider) -> None:
    provider.person, provider.consent = {"sub": "alice", "email": "alice@nhs.net"}, True
    wanted = f"/documents/{document_ids(sso_app)['pdf']}/pdf?page=2"
    page.goto(server.url + wanted)
    expect(page).to_have_url(server.url + "/sign-in?next=" + wanted.replace("=", "%3D"))
    page.get_by_role("link", name="Sign in with your organisation account").click()
    # on the provider's own page, as on Entra ID's: from here the way back starts on
    # another site, so the SameSite=Strict session cookie is not sent to the callback
    page.get_by_role("link", name="Continue").click()
    # -> callback -> the page that moves on by itself, which does carry it
    expect(page).to_have_url(server.url + wanted, timeout=RENDER_TIMEOUT_MS)
    expect(page.locator("#pdf-sheet[data-rendered='2']")).to_be_attached(
        timeout=RENDER_TIMEOUT_MS)
    cookie = next(c for c in context.cookies() if c["name"] == "plansearch_session")
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    assert [c["name"] for c in context.cookies()].count("plansearch_oidc") == 0
    assert provider.issuer in " ".join(recorder.urls)
    assert recorder.problems == [], recorder.problems

