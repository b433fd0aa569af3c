"""The layout is the architecture: imports flow web -> retrieval, indexing -> store,
embedding, and the size and ownership rules hold. Checked from the source, so a change
that breaks them fails here rather than in review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from paths import SERVICE

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
    "evalsets": {"evaluation", "abstention", "retrieval", "indexing", "store", "embedding",
                 "text", "config", "areas"},
    "config": set(),
    "areas": set(),
    "__init__": {"web"},
}
SUBPACKAGES = ("web", "retrieval", "indexing", "store", "embedding", "text", "evalsets")


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


@pytest.mark.parametrize("engine", ["sqlite3", "faiss"])
def test_only_the_store_touches_its_engines(engine: str) -> None:
    """Each backend turns its engines' errors into the store interface's, and keeps their
    settings (issue 24): nothing above the store imports them."""
    users = [str(p.relative_to(SERVICE)) for p in modules()
             if part_of(p) != "store" and any(n.split(".")[0] == engine for n in imported(p))]
    assert users == []


def test_nothing_above_the_store_names_an_engine_error() -> None:
    """Not even through the store's face: `service.store.DatabaseError` was sqlite3's."""
    names = {"DatabaseError", "LOAD_ERRORS"}
    users = [f"{p.relative_to(SERVICE)}: {name}" for p in modules() if part_of(p) != "store"
             for name in imported(p) if name.startswith("service.store")
             and name.rpartition(".")[2] in names]
    assert users == []


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


# What web may take from retrieval (issue 24): the one chat function, the search and the
# types it serialises, the limits it validates against, the budget, the live index and the
# reranker it configures. Any other name is retrieval logic, and a view that imports it is
# assembling a pipeline that belongs in retrieval (as the chat view did before issue 24).
WEB_FACE_OF_RETRIEVAL = {
    "service.retrieval": {"DEFAULT_MODE", "MODES", "DocumentRef", "Filters", "Hit",
                          "InvalidQuery", "LiveIndex", "SearchOptions", "SearchResult",
                          "Searcher", "budget"},
    "service.retrieval.budget": {"BudgetExceeded", "ServerBusy", "Slots"},
    "service.retrieval.chat": {"ChatResult", "Turn", "answer"},
    "service.retrieval.compare": {"MAX_COLUMNS", "Column", "compare", "compare_topic",
                                  "read_compare_question"},
    "service.retrieval.insights": {"csv_rows", "insights"},
    # the library listing (issue 26): what it validates against and the one listing type
    "service.retrieval.catalogue": {"MAX_LIMIT", "SORTS", "Catalogue", "InvalidListing"},
    "service.retrieval.live": {"LiveIndex"},
    "service.retrieval.options": {"DEFAULT_MODE", "MAX_K", "MAX_QUERY", "MODES", "Filters",
                                  "InvalidQuery", "SearchOptions", "DateRange"},
    "service.retrieval.rerank": {"CrossEncoderReranker"},
    "service.retrieval.search": {"DEFAULT_MODE", "MODES", "Filters", "Searcher",
                                 "SearchResult"},
}
ROOT = SERVICE.parent
# the view modules: they hold validation and serialisation, nothing a test or script needs
VIEW_MODULES = ("service.web.api", "service.web.admin", "service.web.pages")


def retrieval_names(source: str) -> list[str]:
    """Everything a module imports from retrieval, as `module.name` (or `module` for a
    whole-module import)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names if a.name.startswith("service.retrieval")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "service.retrieval") and node.level == 0:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def outside_the_face(source: str) -> list[str]:
    return [name for name in retrieval_names(source)
            if name.rpartition(".")[2] not in WEB_FACE_OF_RETRIEVAL.get(
                name.rpartition(".")[0], set())]


@pytest.mark.parametrize("path", sorted((SERVICE / "web").glob("*.py")), ids=lambda p: p.name)
def test_web_takes_only_the_public_face_of_retrieval(path: Path) -> None:
    assert outside_the_face(path.read_text()) == []


def test_the_face_rule_catches_a_chat_assembled_in_the_view() -> None:
    """The view as it was before issue 24: it imported the pipeline's steps."""
    assembled = ("from service.retrieval.answer import highlight_quoted\n"
                 "from service.retrieval.chat import Turn, resolve_follow_ups, verdict_answer\n")
    assert outside_the_face(assembled) == ["service.retrieval.answer.highlight_quoted",
                                           "service.retrieval.chat.resolve_follow_ups",
                                           "service.retrieval.chat.verdict_answer"]


def test_tests_and_scripts_never_import_a_view_module() -> None:
    """Domain logic lives below web; the views only validate and serialise."""
    users = [f"{p.relative_to(ROOT)}: {name}"
             for folder in ("tests", "scripts") for p in sorted((ROOT / folder).rglob("*.py"))
             for name in imported(p) if name.startswith(VIEW_MODULES)]
    assert users == []


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_each_subpackage_names_its_public_face(name: str) -> None:
    assert ast.get_docstring(ast.parse((SERVICE / name / "__init__.py").read_text()))


def test_service_never_imports_the_scripts_folder() -> None:
    assert [p.name for p in modules() if any(n.startswith("scripts") for n in imported(p))] == []


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """Which service modules each module imports, at the top, inside functions or for the
    type checker alike: a cycle hidden in a function is still a cycle."""
    graph: dict[str, set[str]] = {name: set() for name in sources}
    for name, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                wanted = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from package import module` imports the module; a name, the package
                wanted = [f"{node.module}.{alias.name}" for alias in node.names]
                wanted = [w if w in sources else node.module for w in wanted]
            else:
                continue
            graph[name] |= {w for w in wanted if w in sources and w != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle found by a depth-first walk, as the modules around it."""
    cycles, done, path = [], set(), []

    def visit(module: str) -> None:
        path.append(module)
        for target in sorted(graph[module]):
            if target in path:
                cycles.append(path[path.index(target):] + [target])
            elif target not in done:
                visit(target)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module)
    return cycles


def test_service_modules_import_each_other_without_a_cycle() -> None:
    """Issue 24: build, bounds and pipeline imported each other, hiding types behind Any."""
    graph = import_graph({module_name(p): p.read_text() for p in modules()})
    assert import_cycles(graph) == []


def test_the_cycle_rule_catches_the_build_bounds_pipeline_knot() -> None:
    """The imports as they were before issue 24, one of them only for the type checker."""
    before = {
        "service.indexing.build": "from service.indexing.bounds import Checkpoints\n"
                                  "from service.indexing.pipeline import read_and_embed\n",
        "service.indexing.bounds": "from typing import TYPE_CHECKING\n"
                                   "if TYPE_CHECKING:\n"
                                   "    from service.indexing.build import BuildProgress\n",
        "service.indexing.pipeline": "from service.indexing.bounds import Checkpoints\n",
        "service.indexing": "from service.indexing import build\n",
    }
    assert import_cycles(import_graph(before)) == [
        ["service.indexing.build", "service.indexing.bounds", "service.indexing.build"]]


def test_the_test_tree_mirrors_the_package() -> None:
    """Issue 24: every test module sits in the folder of the package it tests, or in
    browser, system or project; basenames are unique (pytest imports each module by its
    basename), and a file name holds no issue number (that goes in the docstring)."""
    tests = ROOT / "tests"
    modules = sorted(tests.rglob("test_*.py"))
    folders = {p.parent.relative_to(tests).as_posix() for p in modules}
    names = [p.name for p in modules]
    assert folders <= set(SUBPACKAGES) | {"browser", "system", "project"}
    assert len(set(names)) == len(names)
    assert [n for n in names if "issue" in n or any(c.isdigit() for c in n)] == []
