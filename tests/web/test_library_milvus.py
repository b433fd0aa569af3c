"""The library's filters and facets on Milvus (issue 26): the same metadata filters, the
same facets and the same document list as on the embedded store, because a filter the
store can't read itself reaches it as the documents it selects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from milvus_helpers import lite_store, lite_url

from service.indexing.build import build_index
from service.web.app import create_app
from tests.web.test_library_api import DOCUMENTS, QUESTION


def test_filters_facets_and_the_list_on_milvus_lite(tmp_path: Path, embedder: Any) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCUMENTS.items():
        (corpus / name).write_text(text)
    with lite_store(tmp_path) as store:
        build_index(corpus, store, embedder)
        client = create_app({"STORE": lite_url(tmp_path), "INDEX_DIR": str(tmp_path / "index"),
                             "CORPUS_DIR": str(corpus), "EMBEDDER": embedder}).test_client()
        body = client.get("/api/search", query_string=[
            ("q", QUESTION), ("k", "10"), ("type", "plan"), ("year", "2019")]).get_json()
        assert {r["document"]["title"] for r in body["results"]} == {
            "Gloucestershire five year plan", "Staffordshire plan"}
        assert body["facets"]["year"] == [{"value": "2019", "count": 2}]
        by_area = client.post("/api/search", json={"query": QUESTION, "k": 10, "filters": {
            "area": ["Gloucestershire"], "published_to": "2018"}}).get_json()
        assert {r["document"]["title"] for r in by_area["results"]} == {
            "Gloucestershire bulletin"}
        nothing = client.get("/api/search", query_string={"q": QUESTION, "year": "2030"}
                             ).get_json()
        assert (nothing["results"], nothing["coverage"]["status"]) == ([], "not_found")
        listed = client.get("/api/documents", query_string={"sort": "-published",
                                                            "limit": 1}).get_json()
        assert ([d["title"] for d in listed["documents"]], listed["total"]) == (
            ["Staffordshire news"], 4)
