"""The contract parts of the OpenAPI description (issue 28): every operation under /api/v1
with its own operationId, its unversioned twin kept and marked deprecated, and the error
catalogue on the Error schema."""

from __future__ import annotations

import copy
from typing import Any

from service.web.error_codes import ERROR_CODES
from service.web.versions import successor_path

DEPRECATED_HEADERS = {
    "Deprecation": {"description": "RFC 9745: the date this unversioned path was "
                                   "deprecated, as @<unix seconds>",
                    "schema": {"type": "string"}},
    "Link": {"description": 'the v1 path, as `</api/v1/...>; rel="successor-version"`',
             "schema": {"type": "string"}}}


def deprecated_twin(operation: dict[str, Any], successor: str) -> dict[str, Any]:
    """The unversioned operation: the same contract, deprecated, pointing at its successor."""
    twin = copy.deepcopy(operation)
    twin["deprecated"] = True
    twin["operationId"] = operation["operationId"] + "Unversioned"
    twin["description"] = (f"Deprecated: the same as {successor}, which replaces it. Answers "
                           "carry Deprecation and Link headers.")
    for response in twin["responses"].values():
        response.setdefault("headers", {}).update(DEPRECATED_HEADERS)
    return twin


def versioned_paths(paths: dict[str, Any]) -> dict[str, Any]:
    """/api/X -> /api/v1/X (the contract), then every /api/X marked deprecated."""
    v1 = {successor_path(path): copy.deepcopy(operations) for path, operations in paths.items()}
    deprecated = {path: {method: deprecated_twin(operation, successor_path(path))
                         for method, operation in operations.items()}
                  for path, operations in paths.items()}
    return v1 | deprecated


def add_error_catalogue(error: dict[str, Any]) -> None:
    """Every code the API answers with, as an enum with a table of status and meaning."""
    rows = "\n".join(f"| `{code}` | {', '.join(map(str, entry.statuses)) or 'any other'} | "
                     f"{entry.meaning} |" for code, entry in ERROR_CODES.items())
    error["properties"]["error"]["properties"]["code"] = {
        "type": "string", "enum": list(ERROR_CODES),
        "description": "What went wrong, to branch on (the message is for people and may "
                       "change):\n\n| code | status | meaning |\n|---|---|---|\n" + rows}
