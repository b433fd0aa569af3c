"""One access model (issue #23, defect 1): with keys set, the pages, the file and the PDF
view need a key as the API does; the page signs in with a form into an HttpOnly,
SameSite=Strict session cookie holding no key; every form carries a CSRF token. The
access table and the modes are checked in test_access_table.py."""

from __future__ import annotations

import re
import stat
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pdf_factory import make_report_pdf
from werkzeug.test import TestResponse

from service.indexing.build import build_index
from service.web.app import create_app
from service.web.signin import safe_next

KEY, OTHER_KEY = "read-key-0123456789", "read-key-abcdefghij"
ADMIN_TOKEN = "admin-token-0123456789"
SECRET = "test-secret-key-not-for-production"
REMOTE = {"REMOTE_ADDR": "192.0.2.10"}  # loopback is rate-limit exempt; this is not


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two text plans and a PDF, indexed once; apps here never write into it."""
    from conftest import FakeEmbedder

    root = tmp_path_factory.mktemp("access")
    (root / "corpus").mkdir()
    (root / "corpus" / "gloucestershire.txt").write_text(
        "# Urgent care\n\nGloucestershire will open two urgent treatment centres.\n")
    make_report_pdf(root / "corpus" / "plan.pdf")
    build_index(root / "corpus", root / "index", FakeEmbedder())
    return root


def make(root: Path, **config: Any) -> Flask:
    """An app over the module's index; counters in memory, so tests never share them."""
    from conftest import FakeEmbedder

    return create_app({"INDEX_DIR": str(root / "index"), "CORPUS_DIR": str(root / "corpus"),
                       "EMBEDDER": FakeEmbedder(), "ADMIN_TOKEN": ADMIN_TOKEN,
                       "JOB_RUNNER_THREAD": False, "RATE_LIMIT_STORAGE": "memory://",
                       "SECRET_KEY": SECRET, **config})


@pytest.fixture(scope="module")
def keys_app(corpus: Path) -> Flask:
    return make(corpus, API_KEYS=f"{KEY}, {OTHER_KEY}")


@pytest.fixture
def client(keys_app: Flask) -> FlaskClient:
    return keys_app.test_client()


def document_ids(app: Flask) -> dict[str, str]:
    """'pdf' and 'txt' -> the id of that document."""
    documents = app.extensions["plansearch"].searcher().documents
    return {doc.path.rsplit(".", 1)[1]: doc.id for doc in documents.values()}


def csrf_from(response: TestResponse) -> str:
    html = response.get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: FlaskClient, key: str = KEY, next_path: str = "/") -> TestResponse:
    token = csrf_from(client.get("/sign-in"))
    return client.post("/sign-in", data={"key": key, "csrf_token": token, "next": next_path})


def session_cookie(response: TestResponse) -> SimpleCookie:
    cookies = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        cookies.load(header)
    return cookies


# --- defect 1: keys protect the documents, not only the API ------------------------------

def test_with_keys_set_no_page_file_or_pdf_answers_without_a_key(keys_app: Flask,
                                                                client: FlaskClient) -> None:
    ids = document_ids(keys_app)
    for path in ["/", f"/documents/{ids['txt']}", f"/documents/{ids['txt']}/file",
                 f"/documents/{ids['pdf']}/pdf?page=2", f"/documents/{ids['pdf']}/file"]:
        response = client.get(path)
        assert response.status_code == 302, path
        location = urlsplit(response.headers["Location"])
        assert (location.path, parse_qs(location.query)) == ("/sign-in", {"next": [path]})
        assert "Gloucestershire" not in response.get_data(as_text=True)


def test_with_keys_set_the_api_answers_401_in_the_one_error_shape(client: FlaskClient) -> None:
    for method, path in [("GET", "/api/search?q=urgent"), ("POST", "/api/chat"),
                         ("GET", "/api/documents"), ("GET", "/api/documents/x")]:
        response = client.open(path, method=method, json={} if method == "POST" else None)
        assert response.status_code == 401, path
        assert response.get_json() == {"error": {"code": "unauthorized", "message": (
            "this server requires sign-in: send a read key as `Authorization: Bearer <key>` "
            "or `X-API-Key: <key>`")}}


def test_tools_keep_sending_a_key_in_a_header(keys_app: Flask, client: FlaskClient) -> None:
    ids = document_ids(keys_app)
    for headers in ({"X-API-Key": KEY}, {"Authorization": f"Bearer {OTHER_KEY}"},
                    {"Authorization": f"Bearer {ADMIN_TOKEN}"}):
        for path in ["/", f"/documents/{ids['txt']}", f"/documents/{ids['pdf']}/pdf",
                     f"/documents/{ids['pdf']}/file", "/api/documents", "/api/search?q=urgent"]:
            with client.get(path, headers=headers) as response:
                assert response.status_code == 200, (path, headers)
                assert "private" in response.headers["Cache-Control"]
    assert client.get("/", headers={"X-API-Key": "wrong"}).status_code == 302


def test_an_open_server_stays_open(corpus: Path) -> None:
    client = make(corpus).test_client()
    assert client.get("/").status_code == 200
    assert client.get("/api/documents").status_code == 200
    assert client.get("/sign-in").status_code == 302  # nothing to sign in to
    assert "set-cookie" not in client.get("/").headers


# --- signing in on the page ---------------------------------------------------------------

def test_signing_in_with_a_key_opens_the_pages_and_the_pages_api(keys_app: Flask,
                                                                  client: FlaskClient) -> None:
    ids = document_ids(keys_app)
    wanted = f"/documents/{ids['txt']}?chunk=0"
    page = client.get(client.get(wanted).headers["Location"])
    assert page.status_code == 200
    assert f'name="next" value="{wanted}"' in page.get_data(as_text=True)
    signed = sign_in(client, next_path=wanted)
    assert (signed.status_code, signed.headers["Location"]) == (303, wanted)
    assert client.get(wanted).status_code == 200
    home = client.get("/")
    assert home.status_code == 200 and "Sign out" in home.get_data(as_text=True)
    assert client.get("/api/documents").status_code == 200


def test_the_session_cookie_is_httponly_strict_and_secure_over_tls(client: FlaskClient) -> None:
    cookie = session_cookie(sign_in(client))["plansearch_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    assert KEY not in cookie.value
    tls = client.get("/sign-in", base_url="https://plans.example")
    assert session_cookie(tls)["plansearch_session"]["secure"]


def test_behind_a_trusted_proxy_forwarded_https_makes_the_cookie_secure(corpus: Path) -> None:
    app = make(corpus, API_KEYS=KEY, TRUSTED_PROXIES="10.0.0.1")
    proxied = app.test_client().get("/sign-in", environ_base={"REMOTE_ADDR": "10.0.0.1"},
                         headers={"X-Forwarded-Proto": "https"})
    assert session_cookie(proxied)["plansearch_session"]["secure"]
    spoofed = app.test_client().get("/sign-in", environ_base=REMOTE,
                                    headers={"X-Forwarded-Proto": "https"})
    assert not session_cookie(spoofed)["plansearch_session"]["secure"]


def test_a_wrong_key_is_refused_and_signs_nobody_in(client: FlaskClient) -> None:
    refused = sign_in(client, key="guess")
    assert refused.status_code == 401
    assert "That key is not one this server accepts." in refused.get_data(as_text=True)
    assert sign_in(client, key=ADMIN_TOKEN).status_code == 401  # the admin token is no read key
    assert client.get("/").status_code == 302


def test_a_session_stops_working_when_its_key_is_withdrawn(corpus: Path,
                                                           client: FlaskClient) -> None:
    sign_in(client, key=OTHER_KEY)
    cookie = client.get_cookie("plansearch_session")
    assert cookie is not None
    restarted = make(corpus, API_KEYS=KEY).test_client()  # OTHER_KEY was removed
    restarted.set_cookie("plansearch_session", cookie.value)
    assert restarted.get("/").status_code == 302
    assert restarted.get("/api/documents").status_code == 401


def test_a_session_ends_after_session_hours(corpus: Path) -> None:
    client = make(corpus, API_KEYS=KEY, SESSION_HOURS=0.0).test_client()
    sign_in(client)
    assert client.get("/").status_code == 302


def test_signing_out_needs_the_csrf_token_and_ends_the_session(client: FlaskClient) -> None:
    sign_in(client)
    token = csrf_from(client.get("/"))
    refused = client.post("/sign-out")
    assert refused.status_code == 400
    assert "security token is missing or out of date" in refused.get_data(as_text=True)
    assert client.post("/sign-out", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/").status_code == 200
    out = client.post("/sign-out", data={"csrf_token": token})
    assert (out.status_code, out.headers["Location"]) == (303, "/sign-in")
    assert client.get("/").status_code == 302


def test_the_sign_in_form_needs_its_csrf_token(client: FlaskClient) -> None:
    client.get("/sign-in")
    for data in ({"key": KEY}, {"key": KEY, "csrf_token": "forged"}):
        assert client.post("/sign-in", data=data).status_code == 400
    assert client.get("/").status_code == 302


def test_an_api_post_riding_on_the_cookie_needs_the_csrf_header(client: FlaskClient) -> None:
    sign_in(client)
    token = csrf_from(client.get("/"))
    chat = {"messages": [{"role": "user", "content": "urgent care"}]}
    refused = client.post("/api/chat", json=chat)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "csrf_invalid"
    assert client.post("/api/chat", json=chat, headers={"X-CSRF-Token": "x"}).status_code == 400
    assert client.post("/api/chat", json=chat, headers={"X-CSRF-Token": token}).status_code == 200
    # a tool sending its key in a header needs no token
    assert keys_client_post(client, chat).status_code == 200


def keys_client_post(client: FlaskClient, body: dict[str, Any]) -> TestResponse:
    client.delete_cookie("plansearch_session")
    return client.post("/api/chat", json=body, headers={"X-API-Key": KEY})


def test_sign_in_attempts_are_rate_limited_per_address(corpus: Path) -> None:
    client = make(corpus, API_KEYS=KEY).test_client()
    client.environ_base.update(REMOTE)
    token = csrf_from(client.get("/sign-in"))
    guesses = [client.post("/sign-in", data={"key": f"guess-{n}", "csrf_token": token}
                           ).status_code for n in range(21)]
    assert guesses == [401] * 20 + [429]


def test_neither_a_read_key_nor_a_session_opens_the_admin_api(client: FlaskClient) -> None:
    sign_in(client)
    assert client.get("/api/jobs").status_code == 401
    assert client.get("/api/jobs", headers={"X-API-Key": KEY}).status_code == 401
    assert client.get("/api/jobs", headers={"Authorization": f"Bearer {KEY}"}).status_code == 401
    assert client.get("/api/jobs", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
                      ).status_code == 200


@pytest.mark.parametrize("target", [
    None, "", "https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil",
    "javascript:alert(1)", "/ok\r\nSet-Cookie: x=1", "/sign-in?next=/", "/sign-out", "relative"])
def test_next_accepts_only_local_paths(target: str | None) -> None:
    assert safe_next(target) == "/"


def test_next_keeps_a_local_path_and_its_query() -> None:
    assert safe_next("/documents/abc?chunk=3#chunk-3") == "/documents/abc?chunk=3#chunk-3"


def test_a_signed_in_session_counts_against_its_keys_rate_limit(corpus: Path) -> None:
    client = make(corpus, API_KEYS=KEY, RATE_LIMIT_SEARCH="2/minute").test_client()
    client.environ_base.update(REMOTE)
    sign_in(client)
    assert client.get("/api/search?q=urgent&mode=keyword").status_code == 200
    tool = client.get("/api/search?q=urgent&mode=keyword", headers={"X-API-Key": KEY},
                      environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert tool.status_code == 200
    assert client.get("/api/search?q=urgent&mode=keyword").status_code == 429


# --- the secret key ----------------------------------------------------------------------

def test_without_a_secret_key_one_is_made_once_and_kept_private(corpus: Path,
                                                                tmp_path: Path) -> None:
    import shutil

    shutil.copytree(corpus, tmp_path / "copy")
    first = make(tmp_path / "copy", API_KEYS=KEY, SECRET_KEY="")
    second = make(tmp_path / "copy", API_KEYS=KEY, SECRET_KEY="")
    kept = tmp_path / "copy" / "index" / "secret_key"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert first.secret_key == second.secret_key == kept.read_text().strip()
    assert len(str(first.secret_key)) >= 64
    # a session made by one worker is good in another
    client = first.test_client()
    sign_in(client)
    other = second.test_client()
    cookie = client.get_cookie("plansearch_session")
    assert cookie is not None
    other.set_cookie("plansearch_session", cookie.value)
    assert other.get("/").status_code == 200
