"""`GET /api/documents/feed.atom` (issue 27): valid Atom, as feedparser reads it, of the
newly indexed documents, newest first, filtered by area and type; the page links to it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.indexing.build import build_index
from service.store import DocumentRecord
from service.web.app import create_app
from service.web.feed import atom_feed

FRONT = "---\ntitle: \"{title}\"\narea: \"{area}\"\ntype: \"{type}\"\n" \
        "publisher: \"{publisher}\"\npublished: \"{published}\"\n" \
        "source_url: \"{url}\"\n---\n{body}\n"
PLANS = {
    "coventry.md": {"title": "Coventry & Warwickshire <five year> plan",
                    "area": "Coventry and Warwickshire", "type": "plan",
                    "publisher": "Coventry and Warwickshire ICB", "published": "2024-03-01",
                    "url": "https://example.nhs.uk/coventry.pdf",
                    "body": "Mental health crisis cafes open in four towns by 2026."},
    "bulletin.md": {"title": "Gloucestershire partner bulletin 1",
                    "area": "Gloucestershire", "type": "bulletin",
                    "publisher": "One Gloucestershire",
                    "published": "2023", "url": "javascript:alert(1)",
                    "body": "Community partners met in Gloucester to plan urgent care."},
}
LATER = {"title": "Gloucestershire urgent care plan", "area": "Gloucestershire", "type": "plan",
         "publisher": "NHS Gloucestershire ICB", "published": "2025-01-15",
         "url": "https://example.nhs.uk/glos.pdf",
         "body": "Same day emergency care opens seven days a week."}


def write(corpus: Path, name: str, values: dict[str, str]) -> None:
    (corpus / name).write_text(FRONT.format(**values), encoding="utf-8")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """Two documents indexed, then a third a second later: it is the newest."""
    from conftest import FakeEmbedder

    root = tmp_path_factory.mktemp("feed")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, values in PLANS.items():
        write(corpus, name, values)
    embedder = FakeEmbedder()
    build_index(corpus, root / "index", embedder)
    time.sleep(1.1)  # indexed_at counts whole seconds
    write(corpus, "glos-urgent-care.md", LATER)
    build_index(corpus, root / "index", embedder)
    return create_app({"INDEX_DIR": str(root / "index"), "CORPUS_DIR": str(corpus),
                       "EMBEDDER": embedder, "JOB_RUNNER_THREAD": False})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def feed(client: FlaskClient, query: str = "") -> Any:
    response = client.get(f"/api/documents/feed.atom{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/atom+xml"
    ElementTree.fromstring(response.data)  # well-formed XML, whatever the titles hold
    parsed = feedparser.parse(response.data)
    assert (parsed.bozo, parsed.version) == (0, "atom10"), parsed.get("bozo_exception")
    return parsed


def test_the_feed_is_valid_atom_of_the_newest_documents_first(client: FlaskClient) -> None:
    parsed = feed(client)
    documents = {d["path"]: d for d in client.get("/api/documents").get_json()["documents"]}
    assert parsed.feed.title == "Plansearch: newly indexed documents"
    assert parsed.feed.id == "http://localhost/api/documents/feed.atom"
    assert [e.title for e in parsed.entries][0] == "Gloucestershire urgent care plan"
    assert sorted(e.title for e in parsed.entries) == sorted(
        d["title"] for d in documents.values())
    first = parsed.entries[0]
    newest = documents["glos-urgent-care.md"]
    assert first.link == f"http://localhost/documents/{newest['id']}"
    assert first.id == f"http://localhost/documents/{newest['id']}#sha256-{newest['sha256']}"
    assert [link.href for link in first.links if link.rel == "related"] == [
        "https://example.nhs.uk/glos.pdf"]
    assert first.author == "NHS Gloucestershire ICB"
    assert first.published == "2025-01-15T00:00:00Z"
    assert sorted(tag.term for tag in first.tags) == ["Gloucestershire", "plan"]
    assert first.summary == "Gloucestershire · NHS Gloucestershire ICB · plan · 1 page · " \
                            "glos-urgent-care.md"
    assert parsed.feed.updated == first.updated


def test_titles_are_escaped_and_unsafe_links_left_out(client: FlaskClient) -> None:
    entries = {e.title: e for e in feed(client).entries}
    assert "Coventry & Warwickshire <five year> plan" in entries
    bulletin = entries["Gloucestershire partner bulletin 1"]
    assert [link.rel for link in bulletin.links] == ["alternate"]  # no javascript: link
    assert "published" not in bulletin  # "2023" is no date


@pytest.mark.parametrize("query, titles", [
    ("?area=Gloucestershire", ["Gloucestershire urgent care plan",
                               "Gloucestershire partner bulletin 1"]),
    ("?area=gloucestershire&type=PLAN", ["Gloucestershire urgent care plan"]),
    ("?type=plan", ["Gloucestershire urgent care plan",
                    "Coventry & Warwickshire <five year> plan"]),
    ("?area=Cornwall", []),
    ("?area=", None),  # empty: no filter
])
def test_the_feed_filters_by_area_and_type(client: FlaskClient, query: str,
                                           titles: list[str] | None) -> None:
    parsed = feed(client, query)
    if titles is None:
        assert len(parsed.entries) == 3
        return
    assert [e.title for e in parsed.entries] == titles
    assert parsed.feed.id == f"http://localhost/api/documents/feed.atom{query}"


@pytest.mark.parametrize("query, message", [
    ("?topic=cancer", "unknown parameter 'topic'; the feed takes area and type"),
    ("?area=" + "x" * 201, "area must be at most 200 characters"),
])
def test_bad_feed_parameters_get_the_json_error(client: FlaskClient, query: str,
                                                message: str) -> None:
    response = client.get(f"/api/documents/feed.atom{query}")
    assert (response.status_code, response.get_json()) == (
        400, {"error": {"code": "invalid_parameter", "message": message}})


def test_the_page_links_to_the_feed(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="alternate" type="application/atom+xml" title="Newly indexed plans" ' \
           'href="/api/documents/feed.atom">' in page
    assert '<a href="/api/documents/feed.atom">Follow newly indexed plans (Atom feed)</a>' in page


def test_a_title_with_control_characters_still_makes_xml() -> None:
    """A PDF's metadata title may hold a form feed, which XML 1.0 cannot carry."""
    document = DocumentRecord("d1", "a.pdf", "Annual\x0c report\x01", None, None, None,
                              "ab" * 32, 10, 2, 4, "2026-01-02T03:04:05+00:00")
    parsed = feedparser.parse(atom_feed([document], {}, "https://plans.example/"))
    assert parsed.bozo == 0
    assert [(e.title, e.updated) for e in parsed.entries] == [
        ("Annual report", "2026-01-02T03:04:05Z")]
