"""Rate limits that fit an intranet service (issue #12, defect 9): per API key when one
is sent, else per client address; X-Forwarded-For only from trusted proxies; loopback
exempt; one count across worker processes; 429 keeps Retry-After."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from tests.web.test_admin import dirs, make_app  # noqa: F401

REMOTE = {"REMOTE_ADDR": "192.0.2.10"}  # TEST-NET-1: a client that is not loopback
QUESTION = "/api/search?q=urgent care&k=1&mode=keyword"


def statuses(app: Flask, count: int, path: str = QUESTION, **kwargs: Any) -> list[int]:
    client = app.test_client()
    return [client.get(path, **kwargs).status_code for _ in range(count)]


def test_500_questions_in_a_row_from_loopback_get_no_429(
        dirs: dict[str, Path], fake_embedder: Any) -> None:  # noqa: F811
    app = make_app(dirs, fake_embedder)
    assert set(statuses(app, 500)) == {200}


def test_a_remote_address_gets_429_only_above_the_default_limit(
        dirs: dict[str, Path], fake_embedder: Any) -> None:  # noqa: F811
    app = make_app(dirs, fake_embedder)
    assert app.config["RATE_LIMIT_SEARCH"] == "1200/minute"
    client = app.test_client()
    answered = [client.get(QUESTION, environ_base=REMOTE).status_code for _ in range(1200)]
    assert set(answered) == {200}
    refused = client.get(QUESTION, environ_base=REMOTE)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # another address has its own budget
    assert client.get(QUESTION, environ_base={"REMOTE_ADDR": "192.0.2.11"}).status_code == 200


def test_each_api_key_has_its_own_budget_whatever_the_address(
        dirs: dict[str, Path], fake_embedder: Any) -> None:  # noqa: F811
    app = make_app(dirs, fake_embedder, API_KEYS="key-one,key-two", RATE_LIMIT_SEARCH="2/minute")
    one, two = {"X-API-Key": "key-one"}, {"X-API-Key": "key-two"}
    client = app.test_client()
    assert [client.get(QUESTION, headers=one, environ_base=REMOTE).status_code,
            client.get(QUESTION, headers=one,
                       environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code,
            client.get(QUESTION, headers=one, environ_base=REMOTE).status_code,
            client.get(QUESTION, headers=two, environ_base=REMOTE).status_code] == [
        200, 200, 429, 200]


def test_an_unknown_bearer_token_does_not_buy_a_fresh_budget(
        dirs: dict[str, Path], fake_embedder: Any) -> None:  # noqa: F811
    app = make_app(dirs, fake_embedder, RATE_LIMIT_SEARCH="2/minute")
    client = app.test_client()
    answered = [client.get(QUESTION, environ_base=REMOTE,
                           headers={"Authorization": f"Bearer made-up-{n}"}).status_code
                for n in range(3)]
    assert answered == [200, 200, 429]


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
        dirs: dict[str, Path], fake_embedder: Any) -> None:  # noqa: F811
    app = make_app(dirs, fake_embedder, RATE_LIMIT_SEARCH="2/minute",
                   TRUSTED_PROXIES="10.0.0.1, 10.0.1.0/24")
    client = app.test_client()

    def via(proxy: str, client_address: str) -> int:
        return client.get(QUESTION, environ_base={"REMOTE_ADDR": proxy},
                          headers={"X-Forwarded-For": client_address}).status_code

    # behind the trusted proxy, each member of staff has their own budget
    assert [via("10.0.0.1", "172.16.0.5") for _ in range(3)] == [200, 200, 429]
    assert via("10.0.0.1", "172.16.0.6") == 200
    assert via("10.0.1.9", "172.16.0.7") == 200
    # anyone else's X-Forwarded-For is ignored: the header can't mint new budgets
    assert [via("203.0.113.9", f"172.16.1.{n}") for n in range(3)] == [200, 200, 429]
    # and a forged loopback address is no way past the limit
    assert via("203.0.113.9", "127.0.0.1") == 429


def test_loopback_behind_a_trusted_proxy_is_the_proxy_and_not_exempt(
        dirs: dict[str, Path], fake_embedder: Any) -> None:  # noqa: F811
    app = make_app(dirs, fake_embedder, RATE_LIMIT_SEARCH="2/minute",
                   TRUSTED_PROXIES="127.0.0.1")
    client = app.test_client()
    forwarded = {"X-Forwarded-For": "172.16.0.5"}
    assert [client.get(QUESTION, headers=forwarded).status_code for _ in range(3)] == [
        200, 200, 429]
    assert client.get(QUESTION).status_code == 200  # loopback itself is still exempt


def test_workers_share_one_count(dirs: dict[str, Path], fake_embedder: Any) -> None:  # noqa: F811
    # two apps over one index folder stand for two gunicorn worker processes
    first = make_app(dirs, fake_embedder, RATE_LIMIT_SEARCH="3/minute")
    second = make_app(dirs, fake_embedder, RATE_LIMIT_SEARCH="3/minute")
    assert statuses(first, 2, environ_base=REMOTE) == [200, 200]
    assert statuses(second, 2, environ_base=REMOTE) == [200, 429]
    assert statuses(first, 1, environ_base=REMOTE) == [429]


def test_loopback_can_be_limited_when_the_exemption_is_emptied(
        dirs: dict[str, Path], fake_embedder: Any) -> None:  # noqa: F811
    app = make_app(dirs, fake_embedder, RATE_LIMIT_SEARCH="2/minute", RATE_LIMIT_EXEMPT="none")
    assert statuses(app, 3) == [200, 200, 429]
