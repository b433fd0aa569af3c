"""The access table and the mode (issue #23, defect 1): every route in Flask's URL map is in
ACCESS, and in the keys and sso modes each answers without access only where the table
says so; an endpoint missing from it is refused; a mode nobody could sign in to stops
the start with one clear line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from service.web.access_table import ACCESS, ADMIN, PUBLIC, READ, access_mode
from tests.web.test_access_model import KEY, REMOTE, corpus, document_ids, keys_app, make  # noqa: F401

# --- the mode --------------------------------------------------------------------------

@pytest.mark.parametrize("config,mode", [
    ({}, "open"), ({"API_KEYS": "k1"}, "keys"), ({"API_KEYS": " , "}, "open"),
    ({"ACCESS": "open", "API_KEYS": "k1"}, "open"), ({"ACCESS": "KEYS", "API_KEYS": "k1"}, "keys"),
    ({"ACCESS": "sso", "SSO_ISSUER": "https://login.example", "SSO_CLIENT_ID": "c",
      "SSO_CLIENT_SECRET": "s", "SSO_DOMAINS": "nhs.net"}, "sso"),
])
def test_the_mode_follows_the_settings(config: dict[str, str], mode: str) -> None:
    assert access_mode(config) == mode


@pytest.mark.parametrize("config,message", [
    ({"ACCESS": "keys"}, "PLANSEARCH_ACCESS=keys needs PLANSEARCH_API_KEYS: nobody could sign in"),
    ({"ACCESS": "password"}, "PLANSEARCH_ACCESS='password' must be one of: open, keys, sso"),
    ({"ACCESS": "sso", "SSO_DOMAINS": "nhs.net"},
     "PLANSEARCH_ACCESS=sso needs PLANSEARCH_SSO_ISSUER, PLANSEARCH_SSO_CLIENT_ID, "
     "PLANSEARCH_SSO_CLIENT_SECRET"),
    ({"ACCESS": "sso", "SSO_ISSUER": "https://login.example", "SSO_CLIENT_ID": "c",
      "SSO_CLIENT_SECRET": "s"},
     "PLANSEARCH_ACCESS=sso needs PLANSEARCH_SSO_DOMAINS or PLANSEARCH_SSO_GROUPS: who may read?"),
])
def test_a_mode_nobody_could_sign_in_to_stops_the_start(
        corpus: Path, config: dict[str, str], message: str) -> None:  # noqa: F811
    with pytest.raises(ValueError) as raised:
        make(corpus, **config)
    assert str(raised.value) == message


# --- every route is in the table, and answers without access only where it says -------------

def rules(app: Flask) -> Iterator[tuple[str, str, str]]:
    """(endpoint, method, url) for every route, with real ids filled in."""
    ids = document_ids(app)
    values = {"doc_id": ids["pdf"], "job_id": "0" * 32, "filename": "app.css"}
    for rule in app.url_map.iter_rules():
        url = rule.build(values, append_unknown=False)
        assert url is not None, rule.rule
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url[1]


def test_every_route_is_in_the_access_table(keys_app: Flask) -> None:  # noqa: F811
    missing = {endpoint for endpoint, _, _ in rules(keys_app)} - set(ACCESS)
    assert missing == set(), f"add these endpoints to ACCESS in access_table.py: {missing}"
    assert set(ACCESS) == {endpoint for endpoint, _, _ in rules(keys_app)}, "stale entries"


def refused_without_access(response: TestResponse) -> bool:
    """The answer to a request that lacks access: sign in, or the 401/403 error shape."""
    if response.status_code == 302:
        return response.headers["Location"].startswith("/sign-in?next=")
    return response.status_code in {401, 403} and response.is_json


def assert_routes_follow_the_table(app: Flask) -> None:
    client = app.test_client()
    checked = 0
    for endpoint, method, url in rules(app):
        with client.open(url, method=method, environ_base=REMOTE) as response:
            response.get_data()
        level = ACCESS[endpoint]
        if level == PUBLIC:
            assert not refused_without_access(response), (method, url, response.status_code)
        else:
            assert level in {READ, ADMIN}
            assert refused_without_access(response), (method, url, response.status_code)
        checked += 1
    assert checked >= len(ACCESS)


def test_routes_answer_without_access_only_where_the_table_says_in_keys_mode(
        keys_app: Flask) -> None:  # noqa: F811
    assert_routes_follow_the_table(keys_app)


def test_routes_answer_without_access_only_where_the_table_says_in_sso_mode(
        sso_app: Flask) -> None:
    assert_routes_follow_the_table(sso_app)


def test_an_endpoint_missing_from_the_table_is_refused(corpus: Path) -> None:  # noqa: F811
    app = make(corpus, API_KEYS=KEY)
    app.add_url_rule("/api/export", "export", lambda: {"titles": ["secret"]})
    response = app.test_client().get("/api/export", headers={"X-API-Key": KEY})
    assert response.status_code == 401


@pytest.fixture(scope="module")
def sso_app(corpus: Path) -> Flask:  # noqa: F811
    """sso mode; the issuer is never reached by the route test (it does not start sign-in
    flows past the first redirect, which a refused connection turns into a 502 page)."""
    return make(corpus, ACCESS="sso", SSO_ISSUER="http://127.0.0.1:9", SSO_CLIENT_ID="plansearch",
                SSO_CLIENT_SECRET="s", SSO_DOMAINS="nhs.net", API_KEYS=KEY)


def test_the_spec_states_the_security_the_access_table_enforces(keys_app: Flask) -> None:  # noqa: F811
    """Issue 28: every operation declares what opens it: the admin token for admin
    endpoints; a read key (either header), the admin token or nothing (the open mode) for
    read ones; nothing at all for public ones."""
    from service.web.openapi import READ_SECURITY, openapi_spec

    paths = openapi_spec()["paths"]
    wanted = {ADMIN: [{"adminToken": []}], READ: READ_SECURITY, PUBLIC: None}
    checked = 0
    for rule in keys_app.url_map.iter_rules():
        if not rule.rule.startswith("/api"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            operation = paths[path][method.lower()]
            assert operation.get("security") == wanted[ACCESS[rule.endpoint]], (method, path)
            checked += 1
    assert checked == sum(len(operations) for operations in paths.values())
