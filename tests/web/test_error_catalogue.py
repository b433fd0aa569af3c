"""One error catalogue (issue 28): every code the source can answer with is in
ERROR_CODES with the status it is raised with, every code there is raised somewhere, and
the OpenAPI description and docs/api.md list them all. Health's 503 carries the error
object too, beside its own fields."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from paths import DOCS, SERVICE

from service.web.app import create_app
from service.web.error_codes import ERROR_CODES, FALLBACK_CODE, HTTP_CODES
from service.web.openapi import openapi_spec
from tests.web.test_access_model import ADMIN_TOKEN, corpus, make  # noqa: F401

# what raises an error answer, and where its status and code are among the arguments
RAISERS = {"ApiError": (0, 2), "error_response": (0, 2), "error_body": (0, 2),
           "UploadRejected": (0, 2)}
# answered by routing (werkzeug), not by a call in our source: checked by a request below
ROUTING = {"method_not_allowed": ("DELETE", "/api/v1/search")}


def name_of(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else \
        func.attr if isinstance(func, ast.Attribute) else ""


def code_values(node: ast.expr | None) -> list[str | None]:
    """A literal code, None (the status's default), or both arms of `a if c else b`."""
    if node is None or isinstance(node, ast.Constant) and node.value is None:
        return [None]
    if isinstance(node, ast.IfExp):
        return code_values(node.body) + code_values(node.orelse)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    return []  # passed on from elsewhere (error.code): its origin is found on its own


def argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def raised(path: Path) -> Iterator[tuple[str, int | None, str]]:
    """(code, status or None when not literal, where) for every error the file raises."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        where = f"{path.relative_to(SERVICE)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call) and name_of(node) in RAISERS:
            status_at, code_at = RAISERS[name_of(node)]
            status_node = argument(node, status_at, "status")
            status = status_node.value if isinstance(status_node, ast.Constant) else None
            for code in code_values(argument(node, code_at, "code")):
                if code is None and status is not None:
                    yield HTTP_CODES.get(status, f"<no code for {status}>"), status, where
                elif code is not None:
                    yield code, status, where
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name) and node.func.value.id == "HTTP_CODES" \
                and len(node.args) == 2 and isinstance(node.args[1], ast.Name) \
                and node.args[1].id == "FALLBACK_CODE":
            yield FALLBACK_CODE, None, where  # the code of any other status
        elif isinstance(node, ast.ClassDef):  # a domain error's class-level code (400s)
            for item in node.body:
                if isinstance(item, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "code" for t in item.targets) \
                        and isinstance(item.value, ast.Constant):
                    yield item.value.value, 400, where


def raised_everywhere() -> list[tuple[str, int | None, str]]:
    return [found for path in sorted(SERVICE.rglob("*.py")) for found in raised(path)]


def test_the_walk_finds_the_codes_it_should() -> None:
    """The walker itself: a few codes known to be raised, each from where it is."""
    found = {(code, status) for code, status, _ in raised_everywhere()}
    assert {("invalid_json", 400), ("job_finished", 409), ("name_conflict", 409),
            ("store_unavailable", 503), ("index_not_ready", 503), ("invalid_filter", 400),
            ("length_required", 411), ("error", None)} <= found


def test_every_raised_code_is_in_the_catalogue_with_its_status() -> None:
    wrong = [(code, status, where) for code, status, where in raised_everywhere()
             if code not in ERROR_CODES or status is not None and code != FALLBACK_CODE
             and status not in ERROR_CODES[code].statuses]
    assert wrong == [], "add these to ERROR_CODES in service/web/error_codes.py"


def test_every_catalogue_code_is_raised_somewhere() -> None:
    found = {code for code, _, _ in raised_everywhere()} | set(ROUTING)
    assert set(ERROR_CODES) - found == set(), "codes in ERROR_CODES that nothing raises"


@pytest.mark.parametrize("code", list(ROUTING))
def test_routing_answers_its_codes(code: str, corpus: Path) -> None:  # noqa: F811
    method, path = ROUTING[code]
    response = make(corpus).test_client().open(path, method=method)
    assert response.status_code in ERROR_CODES[code].statuses
    assert response.get_json()["error"]["code"] == code


def test_the_spec_lists_every_code() -> None:
    code = openapi_spec()["components"]["schemas"]["Error"]["properties"]["error"][
        "properties"]["code"]
    assert code["enum"] == list(ERROR_CODES)
    for name, entry in ERROR_CODES.items():
        assert f"| `{name}` | {', '.join(map(str, entry.statuses)) or 'any other'} | " \
               f"{entry.meaning} |" in code["description"]


def test_docs_api_lists_every_code_with_its_status_and_meaning() -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    rows = {found[0]: found[1:] for found in re.findall(
        r"^\| `([a-z_]+)` \| ([^|]+) \| ([^|]+) \|$", text, re.MULTILINE)}
    assert set(rows) >= set(ERROR_CODES), set(ERROR_CODES) - set(rows)
    for name, entry in ERROR_CODES.items():
        assert rows[name][0].strip() == (', '.join(map(str, entry.statuses)) or "any other")
        assert rows[name][1].strip() == entry.meaning


def test_health_503_carries_the_error_object_beside_its_fields(tmp_path: Path) -> None:
    from conftest import FakeEmbedder

    app = create_app({"INDEX_DIR": str(tmp_path / "index"), "CORPUS_DIR": str(tmp_path),
                      "EMBEDDER": FakeEmbedder(), "JOB_RUNNER_THREAD": False,
                      "RATE_LIMIT_STORAGE": "memory://"})
    for path in ("/api/health", "/api/v1/health"):
        response = app.test_client().get(path)
        assert response.status_code == 503
        body = response.get_json()
        assert body["status"] == "down" and body["problem"]
        assert body["error"] == {"code": "index_not_ready", "message": body["problem"]}
        assert {"model", "store", "disk", "last_failed_build"} <= set(body)
