"""The renames of issue 28 in the OpenAPI description: on /api/v1 a document's kind is
`kind` and a file's format `format` (service/web/renames.py); the deprecated unversioned
paths keep `type` for both. The spec is written with the original names; this gives the
v1 schemas the new ones, and the unversioned operations copies of every schema that
holds (or refers to one that holds) an original name, suffixed `Unversioned`."""

from __future__ import annotations

import copy
from typing import Any

from service.web.openapi_versions import versioned_paths
from service.web.renames import FORMAT, KIND, OLD
from service.web.versions import V1_PREFIX

# schema -> what its `type` property is called on /api/v1
RENAMED = {"DocumentRef": KIND, "Document": KIND, "Facets": KIND, "Filters": KIND,
           "Upload": KIND, "JobFile": FORMAT}
SUFFIX = "Unversioned"
REF = "#/components/schemas/"


def refs_in(node: Any) -> set[str]:
    """The schema names a part of the spec refers to."""
    if isinstance(node, dict):
        found = {node["$ref"].removeprefix(REF)} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(refs_in(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(refs_in(value) for value in node))
    return set()


def retarget(node: Any, names: set[str]) -> None:
    """Point every reference to one of `names` at its Unversioned copy, in place."""
    if isinstance(node, dict):
        target = node.get("$ref")
        if isinstance(target, str) and target.removeprefix(REF) in names:
            node["$ref"] = target + SUFFIX
        for value in node.values():
            retarget(value, names)
    elif isinstance(node, list):
        for value in node:
            retarget(value, names)


def rename_property(schema: dict[str, Any], new: str) -> dict[str, Any]:
    """The schema with its `type` property (not its JSON Schema type) called `new`."""
    properties = {(new if key == OLD else key): value
                  for key, value in schema["properties"].items()}
    renamed = {**schema, "properties": properties}
    if "required" in schema:
        renamed["required"] = [new if key == OLD else key for key in schema["required"]]
    return renamed


def affected_schemas(schemas: dict[str, Any]) -> set[str]:
    """The renamed schemas and every schema that refers to one, however deeply."""
    affected = set(RENAMED)
    while True:
        grown = affected | {name for name, schema in schemas.items()
                            if refs_in(schema) & affected}
        if grown == affected:
            return affected
        affected = grown


def split_names(spec: dict[str, Any]) -> None:
    """v1: the new names, in schemas and query parameters; unversioned: the old, in
    copies of the schemas they need."""
    schemas = spec["components"]["schemas"]
    affected = affected_schemas(schemas)
    for name in sorted(affected):
        twin = copy.deepcopy(schemas[name])
        retarget(twin, affected)
        schemas[name + SUFFIX] = twin
    for name, new in RENAMED.items():
        schemas[name] = rename_property(schemas[name], new)
    for path, operations in spec["paths"].items():
        if not path.startswith(V1_PREFIX + "/"):
            retarget(operations, affected)
            continue
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == OLD and parameter["in"] == "query":
                    parameter["name"] = KIND


def versioned(spec: dict[str, Any]) -> None:
    """Every path under /api/v1 with the v1 names, and its deprecated unversioned twin
    with the original ones."""
    spec["paths"] = versioned_paths(spec["paths"])
    split_names(spec)
