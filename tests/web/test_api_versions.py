"""/api/v1 (issue 28): every API endpoint lives under /api/v1 with the same access,
rate limits and CSRF rules as its unversioned twin; the unversioned paths keep working
and say they are deprecated, with a Link to the v1 path. The spec's version is the
package's."""

from __future__ import annotations

import io
import re
import tomllib
from pathlib import Path
from typing import Any

from corpus_support import build_corpus
from flask import Flask
from flask.testing import FlaskClient
from paths import ROOT

from service.web.access_table import ACCESS
from service.web.versions import unversioned_endpoint
from tests.web.test_access_model import (  # noqa: F401
    ADMIN_TOKEN,
    KEY,
    REMOTE,
    corpus,
    csrf_from,
    document_ids,
    keys_app,
    make,
    sign_in,
)
from tests.web.test_admin import AUTH, DOCS, make_app, run_jobs

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
READ = {"X-API-Key": KEY}


def api_rules(app: Flask) -> dict[str, tuple[str, frozenset[str]]]:
    """rule -> (endpoint, methods) for every /api route."""
    return {rule.rule: (rule.endpoint, frozenset((rule.methods or set()) - {"HEAD", "OPTIONS"}))
            for rule in app.url_map.iter_rules() if rule.rule.startswith("/api")}


def kind_for_type(value: Any) -> Any:
    """A documents answer with `type` renamed `kind` at every level, as v1 names it."""
    if isinstance(value, dict):
        return {("kind" if key == "type" else key): kind_for_type(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [kind_for_type(item) for item in value]
    return value


def test_every_api_route_has_a_v1_twin_with_the_same_methods(keys_app: Flask) -> None:  # noqa: F811
    rules = api_rules(keys_app)
    unversioned = {rule for rule in rules if not rule.startswith("/api/v1/")}
    assert len(unversioned) >= 15
    for rule in unversioned:
        twin = "/api/v1" + rule.removeprefix("/api")
        assert twin in rules, f"{rule} has no v1 twin"
        assert rules[twin][1] == rules[rule][1], rule
        assert unversioned_endpoint(rules[twin][0]) == rules[rule][0]
    assert len(rules) == 2 * len(unversioned)


def test_v1_endpoints_need_exactly_what_their_twins_need(keys_app: Flask) -> None:  # noqa: F811
    v1 = [endpoint for endpoint, _ in api_rules(keys_app).values() if "_v1." in endpoint]
    assert len(v1) >= 15
    for endpoint in v1:
        assert ACCESS[endpoint] == ACCESS[unversioned_endpoint(endpoint)], endpoint


def test_v1_answers_as_the_unversioned_path_does_without_the_deprecation(
        keys_app: Flask) -> None:  # noqa: F811
    client = keys_app.test_client()
    doc_id = document_ids(keys_app)["txt"]
    for path in ("/documents", f"/documents/{doc_id}", "/health"):
        # a page of 50: /api/v1/documents pages by default, /api/documents never did
        query = {"limit": 50} if path == "/documents" else {}
        old, new = (client.get(prefix + path, query_string=query, headers=READ)
                    for prefix in ("/api", "/api/v1"))
        assert new.status_code == old.status_code == 200
        # the one difference: a document's kind is `kind` on v1, `type` unversioned
        assert new.get_json() == kind_for_type(old.get_json()) or path == "/health"
        assert "Deprecation" not in new.headers and "Link" not in new.headers
        assert old.headers["Deprecation"] == "@1796601600"  # RFC 9745: 7 December 2026
        assert old.headers["Link"] == f'</api/v1{path}>; rel="successor-version"'


def test_errors_on_unversioned_paths_also_point_to_v1(keys_app: Flask) -> None:  # noqa: F811
    client = keys_app.test_client()
    missing = client.get("/api/documents/nope", headers=READ)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["message"] == \
        "no document with id 'nope'; see /api/documents"
    assert missing.headers["Link"] == '</api/v1/documents/nope>; rel="successor-version"'
    refused = client.get("/api/search?q=care", environ_base=REMOTE)
    assert refused.status_code == 401 and refused.headers["Deprecation"]
    v1_missing = client.get("/api/v1/documents/nope", headers=READ)
    assert v1_missing.get_json()["error"]["message"] == \
        "no document with id 'nope'; see /api/v1/documents"


def test_v1_admin_endpoints_need_the_admin_token_and_link_v1_jobs(corpus: Path) -> None:  # noqa: F811
    client = make(corpus).test_client()
    assert client.post("/api/v1/reindex").status_code == 401
    assert client.post("/api/v1/reindex", headers={"X-API-Key": KEY}).status_code == 401
    queued = client.post("/api/v1/reindex", headers=ADMIN)
    assert queued.status_code == 202
    job_url = queued.get_json()["job_url"]
    assert re.fullmatch(r"/api/v1/jobs/[0-9a-f]+", job_url)
    assert client.get(job_url, headers=ADMIN).get_json()["status"] == "queued"
    assert client.get(job_url, headers=ADMIN).headers["Cache-Control"] == "no-store"
    old = client.post("/api/reindex", headers=ADMIN).get_json()
    assert old["job_url"] == f"/api/jobs/{old['job_id']}"  # the unversioned shape holds


def test_the_search_budget_is_one_count_over_both_paths(corpus: Path) -> None:  # noqa: F811
    client = make(corpus, API_KEYS=KEY, RATE_LIMIT_SEARCH="3/minute").test_client()
    answers = [client.get(path, query_string={"q": "care"}, headers=READ,
                          environ_base=REMOTE).status_code
               for path in ("/api/search", "/api/v1/search", "/api/v1/search.csv",
                            "/api/search")]
    assert answers == [200, 200, 200, 429]
    refused = client.get("/api/v1/search?q=care", headers=READ, environ_base=REMOTE)
    assert refused.get_json()["error"]["code"] == "rate_limited"


def test_the_admin_limit_is_one_count_per_endpoint_over_both_paths(corpus: Path) -> None:  # noqa: F811
    client = make(corpus, RATE_LIMIT_ADMIN="2/minute").test_client()
    answers = [client.get(path, headers=ADMIN, environ_base=REMOTE).status_code
               for path in ("/api/jobs", "/api/v1/jobs", "/api/v1/jobs")]
    assert answers == [200, 200, 429]


def test_a_v1_post_riding_on_the_cookie_needs_the_csrf_header(keys_app: Flask) -> None:  # noqa: F811
    client: FlaskClient = keys_app.test_client()
    sign_in(client)
    token = csrf_from(client.get("/"))
    chat = {"messages": [{"role": "user", "content": "urgent care"}]}
    refused = client.post("/api/v1/chat", json=chat)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "csrf_invalid"
    assert client.post("/api/v1/chat", json=chat, headers={"X-CSRF-Token": token}
                       ).status_code == 200


def test_the_spec_version_is_the_package_version(keys_app: Flask) -> None:  # noqa: F811
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version == "1.2.0"
    spec = keys_app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["info"]["version"] == version


def test_the_spec_lists_v1_paths_and_marks_the_unversioned_deprecated(
        keys_app: Flask) -> None:  # noqa: F811
    spec = keys_app.test_client().get("/api/v1/openapi.json").get_json()
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/api/v1/"):
                assert "deprecated" not in operation, (path, method)
                old = spec["paths"]["/api" + path.removeprefix("/api/v1")][method]
                assert old["deprecated"] is True
                assert old["operationId"] == operation["operationId"] + "Unversioned"
            else:
                assert "/api/v1" + path.removeprefix("/api") in spec["paths"], path


ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(\+00:00|Z)")


def timestamps(value: object, key: str = "") -> list[tuple[str, object]]:
    """(name, value) of every `*_at` field in a JSON answer, at any depth."""
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in timestamps(v, k)]
    if isinstance(value, list):
        return [found for item in value for found in timestamps(item, key)]
    return [(key, value)] if key.endswith("_at") else []


def test_every_timestamp_is_iso_8601_utc_in_the_answers_and_the_spec(corpus: Path) -> None:  # noqa: F811
    client = make(corpus).test_client()
    client.post("/api/v1/reindex", headers=ADMIN)
    found = [pair for path in ("/documents", "/jobs", "/health")
             for pair in timestamps(client.get("/api/v1" + path, headers=ADMIN).get_json())]
    assert {name for name, _ in found} >= {"indexed_at", "created_at", "built_at"}
    assert [(name, value) for name, value in found
            if value is not None and not ISO_UTC.fullmatch(str(value))] == []
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    untyped = [name for schema in schemas.values() for name, field in walk_properties(schema)
               if name.endswith("_at") and field.get("format") != "date-time"]
    assert untyped == []


def walk_properties(schema: object) -> list[tuple[str, dict[str, object]]]:
    """(name, schema) of every property in a schema, at any depth."""
    if isinstance(schema, list):
        return [found for item in schema for found in walk_properties(item)]
    if not isinstance(schema, dict):
        return []
    own = [(name, field) for name, field in (schema.get("properties") or {}).items()
           if isinstance(field, dict)]
    return own + [found for value in schema.values() for found in walk_properties(value)]


# a name that says "a moment": such a field is an ISO 8601 string (or null), never a number
TIME_NAME = re.compile(r"(_at|^last_asked|^started|^finished|^fetched|^since|_time|^when)$")
EPOCHS = (10 ** 9, 10 ** 13)  # seconds or milliseconds since 1970, from 2001 onwards


def leaves(value: object, key: str = "") -> list[tuple[str, object]]:
    """(name, value) of every scalar in a JSON answer, at any depth."""
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in leaves(v, k)]
    if isinstance(value, list):
        return [found for item in value for found in leaves(item, key)]
    return [(key, value)]


def test_no_v1_answer_sends_a_moment_as_a_number(tmp_path: Path, fake_embedder: Any) -> None:
    """Issue 28: times are ISO 8601 UTC strings; a number is a duration (`took_ms`,
    `seconds`, `eta_s`), a count or a size, or would be named `*_unix_s`. Every JSON answer
    a build, an upload, a failed file, a search, a chat, a compare and the question log
    give is walked, and so is the spec."""
    folder, index = tmp_path / "corpus", tmp_path / "index"
    build_corpus(folder, index, fake_embedder, DOCS)
    app = make_app({"root": tmp_path, "corpus": folder, "index": index}, fake_embedder)
    client = app.test_client()
    client.post("/api/v1/documents", headers=AUTH, content_type="multipart/form-data",
                data={"file": [(io.BytesIO(b"# Zebra\n\nZebra crossings.\n"), "zebra.md")]})
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    client.post("/api/v1/reindex", headers=AUTH)
    run_jobs(app)
    asked = {"messages": [{"role": "user", "content": "urgent care"}]}
    answers = [client.get("/api/v1/search?q=urgent care").get_json(),
               client.post("/api/v1/chat", json=asked).get_json(),
               client.post("/api/v1/compare", json={"question": "care", "documents": [
                   "zebra-md", "gloucestershire-urgent-care-txt"]}).get_json(),
               *(client.get("/api/v1" + path, headers=AUTH).get_json() for path in (
                   "/documents", "/health", "/jobs", "/insights"))]
    found = [pair for answer in answers for pair in leaves(answer)]
    assert all("error" not in answer for answer in answers)
    named = {name for name, _ in found if TIME_NAME.search(name)}
    assert named >= {"indexed_at", "failed_at", "built_at", "created_at", "started_at",
                     "finished_at", "last_asked"}
    assert [(name, value) for name, value in found if TIME_NAME.search(name)
            and value is not None and not ISO_UTC.fullmatch(str(value))] == []
    assert [(name, value) for name, value in found if isinstance(value, int | float)
            and not isinstance(value, bool) and EPOCHS[0] <= value < EPOCHS[1]
            and not name.endswith(("_bytes", "_unix_s"))] == []
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    untyped = [name for schema in schemas.values() for name, field in walk_properties(schema)
               if TIME_NAME.search(name) and field.get("format") != "date-time"]
    assert untyped == []
