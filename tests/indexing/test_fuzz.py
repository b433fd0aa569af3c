"""Fuzzing. hypothesis throws random bytes and text at every reader and the chunker:
the only exception allowed out is our own ReadError. schemathesis drives every
operation in /api/openapi.json, with and without the admin token: no 5xx, and every
response matches the schema."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.embedding.models import SentenceTransformerEmbedder
from service.indexing.build import build_index
from service.indexing.chunking import ChunkSettings, chunk_document
from service.indexing.documents import Document, ReadError
from service.indexing.readers import SUPPORTED_EXTENSIONS, read_document
from service.web.app import create_app
from service.web.openapi import openapi_spec

FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 40)), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
TOKEN = "fuzz-admin-token"
WORDS = st.sampled_from(["care", "NHS", "Gloucestershire", "£4.5m", "2024/25", "e.g.", "Dr.",
                         "—", "•", "1.2.3", "waiting", "(see", "table)", "’", "ﬁ", "\u200b",
                         "a" * 300, "x.y.z.", "!!!", "https://example.nhs.uk/a?b=c", "\t"])


def write(tmp_path: Path, suffix: str, content: bytes) -> Path:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(content)
    return path


def read_or_refuse(path: Path) -> Document | None:
    """A reader may return a document or raise ReadError; anything else is a bug."""
    try:
        return read_document(path, path.name)
    except ReadError as error:
        assert str(error) and "\n" not in str(error)  # a one-line reason
        return None


@FUZZ
@given(suffix=st.sampled_from(SUPPORTED_EXTENSIONS), content=st.binary(max_size=4096))
def test_random_bytes_only_raise_read_error(tmp_path: Path, suffix: str, content: bytes) -> None:
    read_or_refuse(write(tmp_path, suffix, content))


@FUZZ
@given(content=st.binary(max_size=2048), header=st.sampled_from(
    [b"%PDF-1.4\n", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n",
     b"%PDF-1.4\ntrailer\n<< /Root 1 0 R /Encrypt 2 0 R >>\n"]))
def test_pdf_shaped_garbage_only_raises_read_error(tmp_path: Path, content: bytes,
                                                   header: bytes) -> None:
    read_or_refuse(write(tmp_path, ".pdf", header + content + b"\n%%EOF\n"))


@FUZZ
@given(parts=st.dictionaries(st.sampled_from(["word/document.xml", "[Content_Types].xml",
                                              "_rels/.rels", "docProps/core.xml",
                                              "word/_rels/document.xml.rels"]),
                             st.binary(max_size=512) | st.just(b"<w:document/>"), min_size=1))
def test_zips_posing_as_word_files_only_raise_read_error(tmp_path: Path,
                                                         parts: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    read_or_refuse(write(tmp_path, ".docx", buffer.getvalue()))


@FUZZ
@given(markup=st.lists(st.sampled_from(["<p>", "</p>", "<h1>", "</h2>", "<li>", "<table>",
                                        "<tr><td>", "<script>x</script>", "<!--", "-->",
                                        "<main>", "<br/>", "&amp;", "&#0;", "<![CDATA[", "]]>"])
                       | st.text(max_size=20), max_size=40))
def test_random_html_only_raises_read_error(tmp_path: Path, markup: list[str]) -> None:
    read_or_refuse(write(tmp_path, ".html", "".join(markup).encode("utf-8", "surrogatepass")
                         if "\ud800" not in "".join(markup) else b"<p>x</p>"))


@pytest.fixture(scope="module")
def count_tokens() -> Any:
    return SentenceTransformerEmbedder().count_tokens


LINE = st.one_of(
    st.lists(WORDS | st.text(min_size=1, max_size=12), min_size=1, max_size=60).map(" ".join),
    st.builds(lambda level, text: "#" * level + " " + text, st.integers(1, 6),
              st.text(min_size=1, max_size=80)),
    st.just(""), st.just("---"), st.just("\f"), st.just("- item"), st.just("1.1 Numbered title"),
)


@FUZZ
@given(lines=st.lists(LINE, max_size=80))
def test_text_through_reader_and_chunker(tmp_path: Path, count_tokens: Any,
                                         lines: list[str]) -> None:
    content = "\n".join(lines).encode("utf-8", "replace")
    document = read_or_refuse(write(tmp_path, ".md", content))
    if document is None:
        return
    chunks = chunk_document(document, count_tokens, ChunkSettings(chunk_tokens=180))
    pages = {page.number: page.text for page in document.pages}
    for ordinal, chunk in enumerate(chunks):
        assert chunk.ordinal == ordinal
        assert chunk.page_start in pages and chunk.page_end in pages
        assert chunk.page_start <= chunk.page_end
        assert 0 <= chunk.char_start <= len(pages[chunk.page_start])
        assert 0 <= chunk.char_end <= len(pages[chunk.page_end])
        assert chunk.text.strip()
        # never longer than the model's window (all-MiniLM-L6-v2: 256 with [CLS] and [SEP]),
        # so nothing is silently truncated; a long heading may exceed the 180-token budget
        assert count_tokens(chunk.text) <= 256


# --- schemathesis ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    from conftest import FakeEmbedder

    root = tmp_path_factory.mktemp("fuzz-api")
    corpus, index = root / "corpus", root / "index"
    corpus.mkdir()
    (corpus / "gloucestershire.txt").write_text("# Urgent care\n\nGloucestershire opens two "
                                                "urgent treatment centres.\n")
    (corpus / "staffordshire.md").write_text("---\narea: Staffordshire\n---\n# Planned care\n\n"
                                             "Staffordshire cuts waiting times.\n")
    embedder = FakeEmbedder()
    build_index(corpus, index, embedder)
    return create_app({"INDEX_DIR": str(index), "CORPUS_DIR": str(corpus), "EMBEDDER": embedder,
                       "ADMIN_TOKEN": TOKEN, "JOB_RUNNER_THREAD": False, "MAX_UPLOAD_MB": 1,
                       "RATE_LIMIT_SEARCH": "100000/minute", "RATE_LIMIT_ADMIN": "100000/minute"})


@pytest.fixture(scope="module")
def api_schema(api_app: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/api/openapi.json", api_app)


# Driven through schemathesis' Python API: its pytest plugin does not run under pytest 9.


def violable(operation: dict[str, Any]) -> bool:
    """Whether schema-violating input exists: a body, a query string or a required auth
    header (any string is a valid unconstrained path parameter; the read operations' auth
    is optional, `{}`, as PLANSEARCH_ACCESS=open needs none)."""
    required_auth = "security" in operation and {} not in operation["security"]
    return "requestBody" in operation or required_auth or any(
        p["in"] != "path" for p in operation.get("parameters", []))


OPERATIONS = [(path, method.upper(), mode) for path, methods in openapi_spec()["paths"].items()
              for method, operation in methods.items()
              for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
              if not operation.get("deprecated")  # the v1 twin is the same view
              and (mode is GenerationMode.POSITIVE or violable(operation))]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.mark.parametrize("as_admin", [False, True], ids=["anonymous", "admin"])
@pytest.mark.parametrize("path,method,mode", OPERATIONS)
def test_api_matches_its_schema(api_schema: Any, path: str, method: str, as_admin: bool,
                                mode: GenerationMode) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"} if as_admin else {}

    @settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 25)), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=api_schema[path][method].as_strategy(generation_mode=mode))
    def call_and_check(case: Any) -> None:
        case.validate_response(case.call(headers=headers), checks=CHECKS)

    call_and_check()
