"""API versions (issue 28): every JSON endpoint lives under /api/v1, and the original
unversioned /api paths are the same views registered a second time, answering with a
Deprecation header and a Link to their v1 path. Also the package version, read from
one place (pyproject's `version`), which the OpenAPI spec reports."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

from flask import Response, request

UNVERSIONED_PREFIX, V1_PREFIX = "/api", "/api/v1"
# blueprint name -> the name of its /api/v1 registration
V1_BLUEPRINTS = {"api": "api_v1", "admin_api": "admin_api_v1"}
# RFC 9745: the unversioned paths are deprecated as of 1.1.0 (7 December 2026); no sunset
DEPRECATED_SINCE = "@1796601600"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def package_version() -> str:
    """pyproject's version in a source checkout (an editable install's metadata keeps the
    version it was installed at), else the installed package's."""
    try:
        return str(tomllib.loads(PYPROJECT.read_text())["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        pass
    try:
        return importlib.metadata.version("plansearch")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0+unknown"


def unversioned_endpoint(endpoint: str) -> str:
    """'api_v1.search' -> 'api.search': a v1 endpoint is its unversioned twin in every
    table keyed by endpoint (access, rate limits)."""
    blueprint, dot, view = endpoint.partition(".")
    for plain, v1 in V1_BLUEPRINTS.items():
        if blueprint == v1:
            return f"{plain}{dot}{view}"
    return endpoint


def v1_endpoints(endpoints: dict[str, str]) -> dict[str, str]:
    """The v1 twins of the versioned blueprints' endpoints, with the same values."""
    return {f"{V1_BLUEPRINTS[bp]}.{view}": value for endpoint, value in endpoints.items()
            for bp, _, view in [endpoint.partition(".")] if bp in V1_BLUEPRINTS}


def is_v1() -> bool:
    """Whether this request came in on an /api/v1 path."""
    return request.blueprint in V1_BLUEPRINTS.values()


def api_path(path: str) -> str:
    """'/jobs/1' -> '/api/v1/jobs/1' on a v1 request, '/api/jobs/1' on an unversioned one."""
    return (V1_PREFIX if is_v1() else UNVERSIONED_PREFIX) + path


def successor_path(path: str) -> str:
    """'/api/search' -> '/api/v1/search'."""
    return V1_PREFIX + path.removeprefix(UNVERSIONED_PREFIX)


def mark_deprecated(response: Response) -> Response:
    """After every request: an unversioned API path says it is deprecated, and where to go."""
    if request.blueprint in V1_BLUEPRINTS:
        response.headers["Deprecation"] = DEPRECATED_SINCE
        response.headers.add("Link", f"<{successor_path(request.path)}>; "
                                     'rel="successor-version"')
    return response
