"""Runs the benchmark sections in order, with a quick plan (CI, under 3 minutes) and a
full one (about half an hour on 2 cores), and collects one JSON-able dict."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarking import (
    build_bench,
    http_bench,
    keyword_engines,
    library_bench,
    query_bench,
    scale_bench,
)
from benchmarking.measure import load_average, machine
from benchmarking.synthetic import Perturber, source_paragraphs
from service.embedding import SentenceTransformerEmbedder
from service.indexing.build import default_settings
from service.indexing.plan import reuse_reason
from service.store import open_store

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent.parent
SHARED_PDFS = ROOT.parent / "shared" / "pdfs"
QUESTION_FILES = (ROOT / "tests" / "data" / "seed-questions.jsonl",
                  ROOT / "tests" / "data" / "plans-eval.jsonl")


@dataclass(frozen=True)
class Plan:
    quick: bool
    pdfs: bool  # add /work/shared/pdfs to the bundled corpus
    chunk_sizes: tuple[int, ...]  # passage tokens compared for encode throughput
    cold_queries: int
    http_concurrency: tuple[int, ...]
    http_seconds: float
    incremental_bases: tuple[int, ...]
    ann_sizes: tuple[int, ...]
    hnsw_up_to: int
    generation_sizes: tuple[int, ...]  # synthetic generations searched end to end
    serve_largest: bool  # start gunicorn on the largest synthetic generation
    onnx_server: bool  # also serve with the ONNX embedder (and no torch import)
    added_pages: int  # size of the document added incrementally
    encode_texts: int  # chunk texts per encoder comparison (spread over the corpus)
    keyword_sizes: tuple[int, ...]  # synthetic chunks the keyword engines are compared on


QUICK = Plan(quick=True, pdfs=False, chunk_sizes=(180,), cold_queries=15,
             http_concurrency=(1, 16), http_seconds=2.0, incremental_bases=(2_000,),
             ann_sizes=(20_000,), hnsw_up_to=0, generation_sizes=(5_000,),
             serve_largest=False, onnx_server=False, added_pages=4, encode_texts=12,
             keyword_sizes=(2_000,))
FULL = Plan(quick=False, pdfs=True, chunk_sizes=(180, 128), cold_queries=200,
            http_concurrency=(1, 4, 16), http_seconds=15.0,
            incremental_bases=(10_000, 100_000), ann_sizes=(100_000, 1_000_000),
            hnsw_up_to=100_000, generation_sizes=(1_000_000,), serve_largest=True,
            onnx_server=True, added_pages=30, encode_texts=300,
            keyword_sizes=(50_000, 200_000))


def evenly(items: list[str], count: int) -> list[str]:
    """`count` items spread over the whole list (every document represented)."""
    if len(items) <= count:
        return items
    return [items[i * len(items) // count] for i in range(count)]


@contextmanager
def serving_threads() -> Iterator[None]:
    """Torch with one thread, as the server runs it (PLANSEARCH_TORCH_THREADS=1)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class Benchmark:
    def __init__(self, plan: Plan, workdir: Path, backends: tuple[str, ...],
                 http_tool: str = "auto", checkpoint: Callable[[dict[str, Any]], None] | None
                 = None) -> None:
        self.plan = plan
        self.workdir = workdir
        self.backends = backends
        self.http_tool = http_tool
        self.checkpoint = checkpoint  # called after every section with the results so far
        self.results: dict[str, Any] = {"plan": asdict(plan), "machine": machine(),
                                        "sections": {}, "seconds": {}}
        self.embedder = SentenceTransformerEmbedder(batch_size=32)
        self.corpora = [ROOT / "corpus"] + ([SHARED_PDFS] if plan.pdfs and SHARED_PDFS.is_dir()
                                            else [])
        self.questions = query_bench.load_questions(QUESTION_FILES)
        self._anchors: np.ndarray | None = None
        self._perturber: Perturber | None = None
        self.only: set[str] | None = None  # run just these sections (by name prefix)

    def section(self, name: str, work: Callable[[], Any]) -> None:
        if self.only and not any(name.startswith(prefix) for prefix in self.only):
            return
        log.info("benchmark section %s (load average %s)", name, load_average())
        self.results.setdefault("load_average", {})[name] = load_average()
        started = time.perf_counter()
        try:
            self.results["sections"][name] = work()
        except Exception as error:  # a broken section must not hide the others' numbers
            log.exception("section %s failed", name)
            self.results["sections"][name] = {"error": f"{type(error).__name__}: {error}"}
        self.results["seconds"][name] = round(time.perf_counter() - started, 1)
        if self.checkpoint is not None:
            self.checkpoint(self.results)

    # --- shared inputs ---------------------------------------------------------------
    @property
    def perturber(self) -> Perturber:
        if self._perturber is None:
            paragraphs = source_paragraphs(self.corpora, self.workdir / "cache")
            self._perturber = Perturber(paragraphs, seed=7)
        return self._perturber

    @property
    def anchors(self) -> np.ndarray:
        """Real embeddings of the corpus's chunks (kept by the build section, which
        encodes them anyway): the centres synthetic vectors scatter around. Without a
        build, embeddings of 200 corpus paragraphs stand in."""
        if self._anchors is None:
            if self.anchors_file.exists():
                self._anchors = np.load(self.anchors_file)
            else:
                self._anchors = self.embedder.embed_documents(self.perturber.paragraphs[:200])
        return self._anchors

    @property
    def anchors_file(self) -> Path:
        return self.workdir / "build" / "chunk-vectors.npy"

    # --- sections ---------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        plan = self.plan
        self.section("build", self.build)
        self.section("encoders", self.encoders)
        index_dir = self.workdir / "build" / "index"
        self.section("query", lambda: self.query(index_dir))
        self.section("http", lambda: self.http(index_dir))
        if plan.onnx_server and "onnx" in self.backends:
            self.section("http_onnx", lambda: self.http(
                index_dir, "benchmarking.onnx_app:create_app()",
                {"PLANSEARCH_BENCH_NO_TORCH": "1"}))
        for base in plan.incremental_bases:
            self.section(f"incremental_{base}", partial(self.incremental, base))
        for size in plan.ann_sizes:
            self.section(f"ann_{size}", partial(self.ann, size))
        for size in plan.generation_sizes:
            self.section(f"scale_{size}", partial(self.scale, size))
        for size in plan.generation_sizes:
            self.section(f"scale_library_{size}", partial(self.library, size))
        for size in plan.keyword_sizes:
            self.section(f"keywords_{size}", partial(self.keyword_engines, size))
        if not plan.quick:
            self.section("keywords_quality", self.keyword_quality)
        self.results["machine"]["load_average_at_end"] = load_average()
        return self.results

    def build(self) -> dict[str, Any]:
        result, vectors = build_bench.full_build(self.corpora, self.workdir / "build",
                                                 self.embedder)
        np.save(self.anchors_file, vectors)
        self._anchors = vectors
        return result

    def encoders(self) -> dict[str, Any]:
        backends: dict[str, Any] = {"torch-fp32": self.embedder}
        if "onnx" in self.backends or "onnx-int8" in self.backends:
            from service.embedding.onnx_runtime import OnnxEmbedder

            if "onnx" in self.backends:
                backends["onnx-fp32"] = OnnxEmbedder()
            if "onnx-int8" in self.backends:
                backends["onnx-int8"] = OnnxEmbedder(quantized=True)
        texts = {size: evenly(build_bench.chunk_texts(self.corpora, self.embedder, size),
                              self.plan.encode_texts)
                 for size in self.plan.chunk_sizes}
        baseline_texts = build_bench.long_passages(texts[self.plan.chunk_sizes[0]],
                                                   self.embedder)
        result: dict[str, Any] = {
            "texts": {size: len(t) for size, t in texts.items()},
            **build_bench.compare_backends(backends, texts, baseline_texts,
                                           rounds=1 if self.plan.quick else 2),
        }
        # one query at a time with one thread each, as a gunicorn worker runs them
        queries = query_bench.unique_variants(self.questions, 10 if self.plan.quick else 100,
                                              seed=3)
        with serving_threads():
            result["backends"]["torch-fp32"]["query_ms"] = build_bench.query_latency(
                self.embedder, queries)
        for name in list(result["backends"])[1:]:
            from service.embedding.onnx_runtime import OnnxEmbedder

            single = OnnxEmbedder(threads=1, quantized=name == "onnx-int8")
            result["backends"][name]["query_ms"] = build_bench.query_latency(single, queries)
        if not self.plan.quick:
            result["import_s"] = {
                "sentence_transformers": build_bench.import_seconds(
                    "import sentence_transformers"),
                "onnxruntime+tokenizers": build_bench.import_seconds(
                    "import onnxruntime, tokenizers")}
        return result

    def query(self, index_dir: Path) -> dict[str, Any]:
        questions = self.questions[:40] if self.plan.quick else self.questions
        with serving_threads():
            return query_bench.query_breakdown(index_dir, self.embedder, questions,
                                               self.plan.cold_queries,
                                               warm_rounds=1 if self.plan.quick else 3)

    def http(self, index_dir: Path, app: str = "service:create_app()",
             env: dict[str, str] | None = None) -> dict[str, Any]:
        plan = self.plan
        # a fresh, disjoint set of unique queries per run: none is in any cache
        cold = [query_bench.unique_variants(self.questions, 4000, seed=100 + i + 10 * bool(env))
                for i in range(len(plan.http_concurrency))]
        return http_bench.http_benchmark(index_dir, self.questions, cold, plan.http_concurrency,
                                         plan.http_seconds, self.http_tool, app, env,
                                         rerank=env is None)

    def incremental(self, base: int) -> dict[str, Any]:
        return build_bench.incremental_add(base, self.workdir / f"incremental-{base}",
                                           self.embedder, self.anchors, self.perturber,
                                           self.plan.added_pages)

    def ann(self, size: int) -> dict[str, Any]:
        questions = self.embedder.embed_documents(self.questions)
        return scale_bench.ann_comparison(size, self.anchors, self.workdir / "ann",
                                          hnsw=size <= self.plan.hnsw_up_to,
                                          questions=questions)

    def keyword_engines(self, size: int) -> dict[str, Any]:
        """The same 200 questions (the evaluation sets' and variants of them) against the
        same synthetic chunk texts, engine by engine."""
        questions = self.questions + query_bench.unique_variants(
            self.questions, max(0, 200 - len(self.questions)), seed=21)
        texts = Perturber(self.perturber.paragraphs, seed=9).chunk_texts(size)
        return keyword_engines.compare_engines(texts, questions[:200],
                                               self.workdir / f"keywords-{size}")

    def keyword_quality(self) -> dict[str, Any]:
        """Each engine in the whole search pipeline, on each evaluation set's index."""
        from service.evaluation import prepare_searcher

        results = {}
        # as scripts/evaluate.py is run for BENCHMARKS.md's quality tables
        for questions, corpora, exclude in (
                (QUESTION_FILES[0], [ROOT / "corpus"], ()),
                (QUESTION_FILES[1], [ROOT / "corpus", SHARED_PDFS], ("SOURCES.md",))):
            workdir = self.workdir / f"eval-{questions.stem}"
            searcher = prepare_searcher(corpora, workdir, self.embedder, exclude)
            results[questions.stem] = keyword_engines.engine_quality(
                searcher, workdir / "engines", questions)
            searcher.generation.close()
        return results

    def scale(self, size: int) -> dict[str, Any]:
        from dataclasses import replace

        folder = self.workdir / f"scale-{size}"
        record = folder / "generation.json"
        store = open_store(folder / "index")
        current = store.current()
        if record.exists() and current is not None and reuse_reason(
                store, current, self.embedder, default_settings(self.embedder)) is None:
            result = json.loads(record.read_text())  # writing 1M chunks takes ~10 min
            result["reused"] = True
        else:
            result = scale_bench.synthetic_generation(folder / "index", folder / "corpus", size,
                                                      self.perturber, self.anchors,
                                                      self.embedder)
            record.write_text(json.dumps(result))
        searcher = query_bench.searcher_for(folder / "index", self.embedder)
        questions = self.questions
        for question in questions:  # query encoding is excluded at this scale
            searcher.candidates.query_vector(question)
        with serving_threads():
            result["search"] = query_bench.run_queries(searcher, questions, highlight=False)
            result["search_with_highlight"] = query_bench.run_queries(searcher,
                                                                      questions[:15])
            rrf = replace(searcher.options, fusion="rrf")
            result["search_rrf"] = query_bench.run_queries(searcher, questions, highlight=False,
                                                           options=rrf)
        result["fusion_default"] = searcher.options.fusion
        searcher.generation.close()
        result["memory"] = scale_bench.generation_memory(folder / "index")
        result["incremental_add"] = build_bench.add_one_document(
            folder / "corpus", folder / "index", self.embedder, self.perturber,
            self.plan.added_pages)
        if self.plan.serve_largest:
            result["server"] = http_bench.http_benchmark(
                folder / "index", questions, [], (1,), 10.0, self.http_tool)
        return result

    def library(self, size: int) -> dict[str, Any]:
        """Filters, facets and the library page over `size` chunks in documents of 20
        (200k chunks: 10,000 documents), with types, publishers and dates."""
        folder = self.workdir / f"library-{size}"
        record = folder / "generation.json"
        if record.exists() and open_store(folder / "index").current() is not None:
            generation = {**json.loads(record.read_text()), "reused": True}
        else:
            generation = scale_bench.synthetic_generation(
                folder / "index", folder / "corpus", size, self.perturber, self.anchors,
                self.embedder, per_document=20, metadata=True)
            record.write_text(json.dumps(generation))
        with serving_threads():
            result = library_bench.library_benchmark(folder / "index", folder / "corpus",
                                                     self.embedder, self.questions)
        return {"generation": generation, **result}
