"""The tantivy keyword index: scores for chosen chunks agree with the ranked search,
filters are exact, a new generation shares its base's segment files, and an index of
the format before it asks for a rebuild."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.indexing.build import build_index
from service.store import generations
from service.store import layout as store
from service.store.keyword_index import KeywordIndex, KeywordSearcher
from service.web.app import create_app

TEXTS = [
    "Urgent care: two urgent treatment centres open in Gloucester",
    "A&E waiting times fall as the accident and emergency department expands",
    "Planned care: the elective hub cuts waiting lists for hip operations",
    "Mental health crisis teams answer calls around the clock",
    "The 2024/25 budget of £270m funds planned care and urgent care",
    "Workforce plans recruit nurses and care staff",
] * 5


@pytest.fixture
def searcher(tmp_path: Path) -> KeywordSearcher:
    index = KeywordIndex.create(tmp_path / "keywords")
    for chunk_id, text in enumerate(TEXTS, start=1):
        index.add(chunk_id * 3, text)  # ids need not be dense
    index.commit()
    return KeywordSearcher(tmp_path / "keywords")


def test_scores_for_chosen_chunks_are_their_search_scores(searcher: KeywordSearcher) -> None:
    query = searcher.query("planned care waiting in A&E")
    assert query is not None
    ranked = dict(searcher.search(query, 100))
    chosen = [3, 6, 9, 12, 15, 27, 90]
    assert searcher.scores(query, chosen) == pytest.approx(
        {i: ranked.get(i, 0.0) for i in chosen})
    assert searcher.scores(query, []) == {}


def test_a_filtered_search_ranks_only_the_allowed_chunks(searcher: KeywordSearcher) -> None:
    query = searcher.query("urgent care budget")
    assert query is not None
    everything = searcher.search(query, 100)
    allowed = [15, 33, 45, 51, 63]
    expected = [score for chunk_id, score in everything if chunk_id in allowed][:3]
    found = searcher.search(query, 3, allowed)
    assert [score for _, score in found] == pytest.approx(expected)  # ties in either order
    assert {chunk_id for chunk_id, _ in found} <= set(allowed)
    assert dict(found) == pytest.approx({i: dict(everything)[i] for i, _ in found})
    assert searcher.search(query, 3, []) == []


def test_special_terms_and_synonyms_match_however_written(searcher: KeywordSearcher) -> None:
    for question, chunk_id in (("accident and emergency", 6), ("£270m", 15),
                               ("budget for 2024-25", 15), ("recruiting nurses", 18)):
        query = searcher.query(question)
        assert query is not None
        assert searcher.search(query, 1)[0][0] == chunk_id, question
    assert searcher.query("the of and") is None  # stopwords only: no query at all


def test_a_new_generation_links_its_base_segments_and_applies_deletes(
        tmp_path: Path, fake_embedder: Any) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "glos.txt").write_text("# Urgent care\n\nGloucestershire opens urgent "
                                     "treatment centres.\n")
    (corpus / "staffs.txt").write_text("# Planned care\n\nStaffordshire cuts waiting times "
                                       "for hip operations.\n")
    build_index(corpus, index, fake_embedder)
    (corpus / "staffs.txt").unlink()
    (corpus / "suffolk.txt").write_text("# Libraries\n\nSuffolk libraries lend books.\n")
    build_index(corpus, index, fake_embedder)
    first, second = index / "gen-000001" / store.KEYWORDS, index / "gen-000002" / store.KEYWORDS
    shared = [p.name for p in second.iterdir() if not p.name.endswith(".json")
              and (first / p.name).exists() and (first / p.name).stat().st_ino == p.stat().st_ino]
    assert shared  # the first generation's segment, linked rather than copied
    old, new = KeywordSearcher(first), KeywordSearcher(second)
    for words, before, after in (("hip operations", 1, 0), ("libraries", 0, 1),
                                 ("urgent treatment", 1, 1)):
        for searcher, expected in ((old, before), (new, after)):
            query = searcher.query(words)
            assert query is not None
            assert len(searcher.search(query, 10)) == expected, words
    manifest = json.loads((index / "gen-000002" / store.MANIFEST).read_text())
    assert {f"{store.KEYWORDS}/{p.name}" for p in second.iterdir()
            if not p.name.startswith(".")} <= set(manifest["files"])


def test_an_index_of_the_previous_format_asks_for_a_full_rebuild(
        tmp_path: Path, fake_embedder: Any) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "glos.txt").write_text("# Urgent care\n\nGloucestershire opens urgent care.\n")
    build_index(corpus, index, fake_embedder)
    current = generations.current_generation(index)
    assert current is not None
    manifest = json.loads((current / store.MANIFEST).read_text())
    (current / store.MANIFEST).write_text(json.dumps({**manifest, "format_version": 3}))
    client = create_app({"INDEX_DIR": str(index), "CORPUS_DIR": str(corpus),
                         "EMBEDDER": fake_embedder, "JOB_RUNNER_THREAD": False}).test_client()
    problem = client.get("/api/health").get_json()["problem"]
    assert f"index format 3 is not {store.FORMAT_VERSION}; rebuild with " \
           "`python scripts/build_index.py --full`" in problem
