"""Damaged index files: the service falls back to the previous good generation and says
so in /api/health, answers 503 with the repair command when nothing loads, and
`build_index.py` (incremental or --full) repairs the index."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from corpus_support import build_corpus
from flask.testing import FlaskClient
from paths import ROOT

from service.config import load_config
from service.indexing.build import build_index
from service.indexing.build_process import run_build
from service.store import generations
from service.store import layout as store
from service.web.app import create_app

FIRST = {"gloucestershire.txt": "# Urgent care\n\nGloucestershire opens two urgent treatment "
                                "centres and expands NHS 111 online.\n"}
SECOND = {"staffordshire.txt": "# Planned care\n\nStaffordshire cuts waiting times for hip "
                               "operations with a new elective hub.\n"}


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def scribble(path: Path) -> None:
    """Overwrite the middle of the file with garbage, keeping its size."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle - 2048: middle + 2048] = b"\xde\xad\xbe\xef" * 1024
    path.write_bytes(bytes(data))


def remove_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:100] = b"\0" * 100
    path.write_bytes(bytes(data))


def own_vectors(generation: str) -> str:
    """The vectors of the segment a generation's own build wrote (gen-000002 wrote
    seg-000002); older segments are hard-linked from, and shared with, older generations."""
    return store.segment_files(f"seg-{generation.removeprefix('gen-')}")[1]


DAMAGE: dict[str, tuple[str, Callable[[Path], None], str]] = {
    # sizes are checked first, then checksums, then what FAISS and SQLite can tell
    "truncated vectors": (own_vectors("gen-000002"), truncate, "vectors.faiss is "),
    # it grows: a tiny file
    "scribbled vectors": (own_vectors("gen-000002"), scribble, "vectors.faiss is "),
    "truncated database": (store.DATABASE, truncate, "index.sqlite is "),
    "scribbled database": (store.DATABASE, scribble, "index.sqlite does not match its checksum"),
    "database header gone": (store.DATABASE, remove_header, "damaged database"),
    "manifest garbled": (store.MANIFEST, truncate, "unreadable manifest"),
    # the keyword index's own files (its others are hard links to the previous
    # generation's, so damaging one would damage both)
    "truncated keyword postings": (f"{store.KEYWORDS}/*.idx", truncate, "keywords/"),
    "scribbled keyword terms": (f"{store.KEYWORDS}/*.term", scribble, "keywords/"),
    "keyword meta garbled": (f"{store.KEYWORDS}/meta.json", truncate,
                             "keywords/meta.json is "),
}


def own_file(generation: Path, pattern: str) -> Path:
    """The file matching `pattern` that no other generation shares."""
    return next(p for p in sorted(generation.glob(pattern)) if p.stat().st_nlink == 1)


@pytest.fixture
def two_generations(tmp_path: Path, fake_embedder: Any) -> dict[str, Path]:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    build_corpus(corpus, index, fake_embedder, FIRST, SECOND)
    return {"corpus": corpus, "index": index}


def client_for(dirs: dict[str, Path], embedder: Any) -> FlaskClient:
    return create_app({"INDEX_DIR": str(dirs["index"]), "CORPUS_DIR": str(dirs["corpus"]),
                       "EMBEDDER": embedder, "JOB_RUNNER_THREAD": False}).test_client()


def document_ids(client: FlaskClient) -> list[str]:
    response = client.get("/api/documents")
    assert response.status_code == 200, response.get_json()
    return sorted(d["id"] for d in response.get_json()["documents"])


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_live_generation_falls_back_at_start_up(
        two_generations: dict[str, Path], fake_embedder: Any, damage: str) -> None:
    name, harm, reason = DAMAGE[damage]
    harm(own_file(two_generations["index"] / "gen-000002", name))
    client = client_for(two_generations, fake_embedder)
    health = client.get("/api/health")
    assert health.status_code == 200
    body = health.get_json()
    assert (body["status"], body["generation"], body["documents"]) == ("degraded",
                                                                      "gen-000001", 1)
    assert body["problem"].startswith("serving gen-000001 because a newer generation failed "
                                      "to load: gen-000002")
    assert reason in body["problem"]
    assert "build_index.py --full" in body["problem"]
    response = client.get("/api/search?q=urgent treatment centres")
    assert response.status_code == 200
    assert response.get_json()["results"][0]["document"]["id"] == "gloucestershire-txt"
    assert document_ids(client) == ["gloucestershire-txt"]


def test_a_damaged_new_generation_is_refused_at_reload(two_generations: dict[str, Path],
                                                       fake_embedder: Any) -> None:
    client = client_for(two_generations, fake_embedder)
    assert client.get("/api/health").get_json()["status"] == "ok"
    (two_generations["corpus"] / "suffolk.txt").write_text("# Libraries\n\nSuffolk libraries.\n")
    build_index(two_generations["corpus"], two_generations["index"], fake_embedder)
    truncate(two_generations["index"] / "gen-000003" / own_vectors("gen-000003"))
    body = client.get("/api/health").get_json()
    assert (body["status"], body["generation"]) == ("degraded", "gen-000002")
    assert "gen-000003: segments/seg-000003/vectors.faiss is " in body["problem"]
    assert document_ids(client) == ["gloucestershire-txt", "staffordshire-txt"]


def test_no_loadable_generation_answers_503_with_the_repair_command(
        two_generations: dict[str, Path], fake_embedder: Any) -> None:
    for generation in ("gen-000001", "gen-000002"):
        truncate(two_generations["index"] / generation / own_vectors(generation))
    client = client_for(two_generations, fake_embedder)
    health = client.get("/api/health")
    assert health.status_code == 503
    assert health.get_json()["status"] == "down"
    assert "python scripts/build_index.py --full" in health.get_json()["problem"]
    search = client.get("/api/search?q=urgent care")
    assert search.status_code == 503
    message = search.get_json()["error"]["message"]
    # gen-000002 shares gen-000001's segment (hard-linked): that damage is found first
    assert message.startswith("no usable index generation (gen-000002: gen-000002: "
                              "segments/seg-000001/vectors.faiss is ")
    assert message.endswith("run `make index` (or `python scripts/build_index.py --full` to "
                            "rebuild from scratch)")


@pytest.fixture
def real_index(tmp_path: Path, embedder: Any) -> dict[str, Path]:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    build_corpus(corpus, index, embedder, FIRST, SECOND)
    return {"corpus": corpus, "index": index}


@pytest.mark.slow
def test_an_incremental_build_rolls_back_past_a_damaged_generation(
        real_index: dict[str, Path], embedder: Any) -> None:
    scribble(real_index["index"] / "gen-000002" / store.DATABASE)
    code, summary, _ = run_build(load_config({"CORPUS_DIR": real_index["corpus"],
                                              "INDEX_DIR": real_index["index"]}))
    assert code == 0
    assert summary["warnings"][0].startswith("the live index was damaged: gen-000002: "
                                             "index.sqlite does not match its checksum")
    assert "rolled back to gen-000001 and rebuilt from it" in summary["warnings"][0]
    assert (summary["added_paths"], summary["generation"]) == (["staffordshire.txt"], "gen-000003")
    client = client_for(real_index, embedder)
    assert client.get("/api/health").get_json()["status"] == "ok"
    assert document_ids(client) == ["gloucestershire-txt", "staffordshire-txt"]


@pytest.mark.slow
def test_build_index_full_repairs_an_index_with_no_good_generation(
        real_index: dict[str, Path], embedder: Any) -> None:
    for generation in ("gen-000001", "gen-000002"):
        truncate(real_index["index"] / generation / own_vectors(generation))
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_index.py"), "--full", "--json",
         "--corpus", str(real_index["corpus"]), "--index", str(real_index["index"])],
        capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["added"] + summary["updated"], summary["failed"], summary["generation"]) == \
        (2, [], "gen-000003")
    assert generations.current_generation(real_index["index"]).name == "gen-000003"  # type: ignore
    client = client_for(real_index, embedder)
    health = client.get("/api/health").get_json()
    assert (health["status"], health["documents"], health["problem"]) == ("ok", 2, None)
