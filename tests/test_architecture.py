"""The layout is the architecture: imports flow web -> retrieval, indexing -> store,
embedding, and the size and ownership rules hold. Checked from the source, so a change
that breaks them fails here rather than in review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parent.parent / "service"
# which parts of `service` each part may import (besides itself)
ALLOWED = {
    "web": {"retrieval", "indexing", "store", "embedding", "text", "config", "areas"},
    "retrieval": {"store", "embedding", "text", "config", "areas"},
    "indexing": {"store", "embedding", "text", "config", "areas"},
    "store": {"text", "config"},
    "embedding": {"config"},
    "text": set(),  # the leaf every part reads words with: it imports nothing of the service
    "evaluation": {"retrieval", "indexing", "store", "embedding", "text", "config", "areas"},
    "abstention": {"evaluation", "retrieval", "text", "config", "areas"},
    "config": set(),
    "areas": set(),
    "__init__": {"web"},
}
SUBPACKAGES = ("web", "retrieval", "indexing", "store", "embedding", "text")


def modules() -> list[Path]:
    return sorted(SERVICE.rglob("*.py"))


def part_of(path: Path) -> str:
    relative = path.relative_to(SERVICE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported(path: Path) -> list[str]:
    """Every module the file imports, at the top or inside functions."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SERVICE)))
def test_imports_flow_one_way(path: Path) -> None:
    part = part_of(path)
    wrong = set()
    for name in imported(path):
        pieces = name.split(".")
        if pieces[0] != "service" or len(pieces) < 2:
            continue
        target = pieces[1]
        if target in SUBPACKAGES or target in ALLOWED:
            if target != part and target not in ALLOWED[part]:
                wrong.add(name)
    assert not wrong, f"{part} may not import {sorted(wrong)}"


def test_text_imports_nothing_above_it() -> None:
    """Issue 24: the text toolkit is a leaf that store and retrieval both stand on."""
    above = [(str(p.relative_to(SERVICE)), name) for p in modules() if part_of(p) == "text"
             for name in imported(p)
             if name.startswith("service.") and name.split(".")[1] != "text"]
    assert above == []


def test_retrieval_reads_words_from_the_text_toolkit_not_the_store() -> None:
    """Issue 24: retrieval no longer reaches into the store's keyword analysis."""
    reaching = [(str(p.relative_to(SERVICE)), name) for p in modules()
                if part_of(p) == "retrieval" for name in imported(p)
                if name.startswith("service.store.keywords")]
    assert reaching == []


# the ideas service/text owns: a second definition elsewhere is a second meaning
TEXT_IDEAS = {"WORD", "STOPWORDS", "GENERIC", "QUESTION_WORDS", "STEM", "ROOT_ENDING"}


def test_words_stopwords_and_stems_are_defined_once() -> None:
    defined = [(str(p.relative_to(SERVICE)), target.id) for p in modules()
               if part_of(p) != "text" for node in ast.walk(ast.parse(p.read_text()))
               if isinstance(node, ast.Assign) for target in node.targets
               if isinstance(target, ast.Name) and target.id in TEXT_IDEAS]
    assert defined == []


def test_only_the_store_touches_sqlite() -> None:
    users = [str(p.relative_to(SERVICE)) for p in modules()
             if part_of(p) != "store" and any(n.split(".")[0] == "sqlite3" for n in imported(p))]
    assert users == []


def test_no_subpackage_reaches_into_another_subpackage_private_modules() -> None:
    reaching = [(str(p.relative_to(SERVICE)), name) for p in modules() for name in imported(p)
                if name.startswith("service.") and any(
                    piece.startswith("_") and not piece.startswith("__")
                    for piece in name.split(".")[2:]) and name.split(".")[1] != part_of(p)]
    assert reaching == []


def test_modules_and_functions_stay_small() -> None:
    too_long = []
    for path in modules():
        source = path.read_text()
        if len(source.splitlines()) > 300:
            too_long.append(f"{path.name}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 60:
                    too_long.append(f"{path.name}:{node.name}: {length} lines")
    assert too_long == []


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_each_subpackage_names_its_public_face(name: str) -> None:
    assert ast.get_docstring(ast.parse((SERVICE / name / "__init__.py").read_text()))


def test_service_never_imports_the_scripts_folder() -> None:
    assert [p.name for p in modules() if any(n.startswith("scripts") for n in imported(p))] == []
