"""The default embedder: ONNX Runtime over an export checked against sentence-transformers,
and a server that never imports torch."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from paths import ROOT

from service.embedding import ModelNotAvailable, make_embedder
from service.embedding.onnx_runtime import REFERENCE, OnnxEmbedder

TEXTS = ["What are Gloucestershire's urgent care plans?",
         "Staffordshire's planned care programme is predicted to save between £1.9m and £4.4m.",
         "short", "A&E " * 120]  # the last one runs past the model's 256-token window


@pytest.fixture(scope="module")
def onnx_embedder(tmp_path_factory: pytest.TempPathFactory) -> OnnxEmbedder:
    return OnnxEmbedder(cache_dir=tmp_path_factory.mktemp("cache") / "plansearch" / "onnx")


@pytest.mark.slow
def test_onnx_vectors_match_sentence_transformers(onnx_embedder: OnnxEmbedder,
                                                  embedder: Any) -> None:
    got = onnx_embedder.embed_documents(TEXTS)
    expected = embedder.embed_documents(TEXTS)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.min(np.sum(got * expected, axis=1)) >= 0.9999
    assert onnx_embedder.name == embedder.name  # either can query an index the other built
    spans = [[(0, 5), (6, len(t))] for t in TEXTS]
    _, sentences = onnx_embedder.embed_with_sentences(TEXTS, spans)
    _, reference = embedder.embed_with_sentences(TEXTS, spans)
    for mine, theirs in zip(sentences, reference, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=2e-3)  # empty spans are zero in both


@pytest.mark.slow
def test_int8_vectors_stay_close_to_fp32(onnx_embedder: OnnxEmbedder) -> None:
    """int8 weights (per channel) keep the vectors within a few percent of fp32's, and
    rank a paraphrase above unrelated text as fp32 does."""
    int8 = OnnxEmbedder(cache_dir=onnx_embedder.cache_dir.parent, quantized=True)
    texts = TEXTS[:2] + ["Gloucestershire will open integrated urgent care centres.",
                         "The board approved the minutes of the previous meeting."]
    got, expected = int8.embed_documents(texts), onnx_embedder.embed_documents(texts)
    assert np.min(np.sum(got * expected, axis=1)) >= 0.97
    assert float(got[0] @ got[2]) > float(got[0] @ got[3]) + 0.2
    assert int8.onnx_file().name != "model.onnx" and int8.name == onnx_embedder.name


@pytest.mark.slow
def test_the_optimised_graph_is_kept_and_gives_the_same_vectors(
        onnx_embedder: OnnxEmbedder, embedder: Any) -> None:
    first = onnx_embedder.embed_documents(TEXTS)  # the first session saves its graph
    optimised = onnx_embedder.onnx_file().with_suffix(".optimised.onnx")
    assert optimised.is_file()
    assert not list(optimised.parent.glob("*.tmp"))
    again = OnnxEmbedder(cache_dir=onnx_embedder.cache_dir.parent)  # a restarted worker
    assert again.cache_dir == onnx_embedder.cache_dir
    second = again.embed_documents(TEXTS)
    np.testing.assert_allclose(second, first, atol=1e-5)
    assert np.min(np.sum(second * embedder.embed_documents(TEXTS), axis=1)) >= 0.9999


@pytest.mark.slow
def test_a_damaged_optimised_graph_is_replaced(onnx_embedder: OnnxEmbedder,
                                               tmp_path: Path) -> None:
    onnx_embedder.onnx_file()
    copy = OnnxEmbedder(cache_dir=tmp_path)
    copy.cache_dir.mkdir(parents=True)
    for name in ("model.onnx", REFERENCE):
        (copy.cache_dir / name).write_bytes((onnx_embedder.cache_dir / name).read_bytes())
    (copy.cache_dir / "model.optimised.onnx").write_bytes(b"not a graph")
    assert copy.embed_query("urgent care").shape == (onnx_embedder.dimension,)
    assert (copy.cache_dir / "model.optimised.onnx").stat().st_size > 1_000_000


@pytest.mark.slow
def test_a_damaged_export_is_refused(onnx_embedder: OnnxEmbedder, tmp_path: Path) -> None:
    onnx_embedder.onnx_file()  # exported, with its reference vectors
    broken = OnnxEmbedder(cache_dir=tmp_path)
    broken.cache_dir.mkdir(parents=True)
    for name in ("model.onnx", REFERENCE):
        (broken.cache_dir / name).write_bytes((onnx_embedder.cache_dir / name).read_bytes())
    reference = np.load(broken.cache_dir / REFERENCE)
    np.save(broken.cache_dir / REFERENCE, np.roll(reference, 1, axis=0))  # wrong yardstick
    with pytest.raises(ModelNotAvailable, match="does not match sentence-transformers"):
        broken.embed_query("urgent care")


def test_make_embedder_names_the_backends() -> None:
    assert type(make_embedder("sentence-transformers")).__name__ == "SentenceTransformerEmbedder"
    assert type(make_embedder("onnx")).__name__ == "OnnxEmbedder"
    assert getattr(make_embedder("onnx-int8"), "backend", None) == "onnx-int8"
    injected = object()
    assert make_embedder(injected) is injected
    with pytest.raises(ModelNotAvailable,
                       match="must be one of onnx, onnx-int8, sentence-transformers"):
        make_embedder("word2vec")


SERVE_AND_SEARCH = """
import json, sys
from service import create_app
app = create_app({"INDEX_DIR": sys.argv[1], "CORPUS_DIR": sys.argv[2]})
client = app.test_client()
answer = client.get("/api/search?q=what+are+Gloucestershire%27s+urgent+care+plans").get_json()
print(json.dumps({"torch": "torch" in sys.modules,
                  "sentence_transformers": "sentence_transformers" in sys.modules,
                  "top": answer["results"][0]["document"]["id"]}))
"""


@pytest.mark.slow
def test_serving_never_imports_torch(bundled_index: Path, onnx_embedder: OnnxEmbedder) -> None:
    onnx_embedder.onnx_file()
    env = {"XDG_CACHE_HOME": str(onnx_embedder.cache_dir.parent.parent.parent),
           "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-c", SERVE_AND_SEARCH, str(bundled_index / "index"),
                          str(bundled_index / "corpus")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen == {"torch": False, "sentence_transformers": False,
                    "top": "gloucestershire-stp-community-partner-bulletin-1-txt"}


def torch_mapped(pid: int) -> bool:
    """Whether the process has torch's libraries mapped (imported in it, or before fork)."""
    return "/torch/" in Path(f"/proc/{pid}/maps").read_text()


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@pytest.mark.slow
def test_make_run_serves_without_torch_in_master_or_workers(
        bundled_index: Path, onnx_embedder: OnnxEmbedder) -> None:
    """`make run` is gunicorn with service.web.gunicorn_conf: neither its master (which
    once imported sentence-transformers for the workers to share) nor its workers load
    torch with the default ONNX embedder."""
    onnx_embedder.onnx_file()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"XDG_CACHE_HOME": str(onnx_embedder.cache_dir.parent.parent.parent),
           "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin",
           "PLANSEARCH_INDEX_DIR": str(bundled_index / "index"), "PLANSEARCH_WORKERS": "2"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--config",
         "python:service.web.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
         "service:create_app()"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    try:
        body = None
        for _ in range(600):  # up to a minute on a slow machine
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/search?q=urgent+care",
                                            timeout=5) as response:
                    body = json.loads(response.read())
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:] \
                    if server.stderr else ""
                time.sleep(0.1)
        assert body is not None and body["results"]
        workers = children(server.pid)
        assert len(workers) == 2
        assert [torch_mapped(pid) for pid in [server.pid, *workers]] == [False, False, False]
    finally:
        server.terminate()
        server.communicate(timeout=60)  # reaps it and closes its stderr pipe
