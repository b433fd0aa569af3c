#!/usr/bin/env python
"""Build throughput (issue 27): a from-scratch build of the shared PDFs and development
sets with each encoder, against the same encoder alone on exactly the texts the build
embedded; the parsers' CPU per page and the encoder's CPU per chunk; and from those, the
hours a first build of a national library would take. Benchmark tooling, not shipped."""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
from pathlib import Path
from typing import Any

from benchmarking.build_bench import full_build

from service.embedding import make_embedder

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPORA = {
    "bench": [ROOT / "corpus", SHARED / "pdfs"],  # what BENCHMARKS' build figures used
    "all": [ROOT / "corpus", SHARED / "pdfs", SHARED / "devsets" / "public-health" / "pdfs",
            SHARED / "devsets" / "reader"],
}
LIBRARY_PDFS, LIBRARY_CHUNKS = 2000, 1_000_000  # the national library


def page_count(folders: list[Path]) -> int:
    """Pages of every PDF in the folders (pypdfium2: cheap, no layout work)."""
    import pypdfium2

    pages = 0
    for pdf in (p for folder in folders for p in sorted(folder.rglob("*.pdf"))):
        try:
            document = pypdfium2.PdfDocument(str(pdf))
        except Exception:  # noqa: BLE001 - encrypted or broken: the build fails it too
            continue
        pages += len(document)
        document.close()
    return pages


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(backend: str, corpora: list[Path], workdir: Path, readers: int,
            threads: int | None) -> dict[str, Any]:
    """One from-scratch build with `backend`, and its raw encoding."""
    os.environ["PLANSEARCH_BUILD_READERS"] = str(readers)
    embedder = make_embedder(backend, batch_size=32, threads=threads)
    before = children_cpu()
    result, _ = full_build(corpora, workdir / backend, embedder)
    result["parse_cpu_s"] = round(children_cpu() - before, 2)  # the sandboxed parsers
    result.update(backend=backend, readers=readers, threads=threads, build_over_raw=round(
        result["seconds"] / result["raw_encode_s"], 3))
    return result


def projection(result: dict[str, Any], pages: int, cores: int) -> dict[str, float]:
    """Hours for LIBRARY_PDFS PDFs holding LIBRARY_CHUNKS chunks, from this build's
    rates. On this machine: the measured build time per chunk, scaled. On `cores` cores:
    the measured CPU seconds (parsing per page, encoding per chunk) shared over the cores,
    the lower bound when the readers keep the encoder fed (PLANSEARCH_BUILD_READERS)."""
    chunks = result["chunks"]
    pages_per_chunk = pages / chunks
    parse_cpu = result["parse_cpu_s"] / pages * pages_per_chunk * LIBRARY_CHUNKS
    encode_cpu = result["cpu_s"]["raw_encode"] / chunks * LIBRARY_CHUNKS
    return {
        "pages": round(pages_per_chunk * LIBRARY_CHUNKS),
        "parse_cpu_h": round(parse_cpu / 3600, 1), "encode_cpu_h": round(encode_cpu / 3600, 1),
        "here_h": round(result["seconds"] / chunks * LIBRARY_CHUNKS / 3600, 1),
        f"cores_{cores}_h": round((parse_cpu + encode_cpu) / cores / 3600, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--embedders", default="onnx,onnx-int8",
                        help="comma-separated: onnx, onnx-int8, sentence-transformers")
    parser.add_argument("--corpora", choices=sorted(CORPORA), default="all")
    parser.add_argument("--readers", type=int, default=1, help="PLANSEARCH_BUILD_READERS")
    parser.add_argument("--threads", type=int, help="encoder threads (default: every core)")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".cache" / "throughput")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    corpora = [c for c in CORPORA[args.corpora] if c.is_dir()]
    pages = page_count(corpora)
    rows = []
    for backend in args.embedders.split(","):
        result = measure(backend, corpora, args.workdir, args.readers, args.threads)
        result["projection"] = projection(result, pages, 16)
        rows.append(result)
        print(f"{backend} ({args.threads or 'all'} threads): {result['documents']} "
              f"documents ({result['failed']} failed), "
              f"{pages} PDF pages, {result['chunks']} chunks; build {result['seconds']} s "
              f"({result['chunks_per_s']} chunks/s) against raw encoding "
              f"{result['raw_encode_s']} s ({result['raw_chunks_per_s']} chunks/s): "
              f"x{result['build_over_raw']}; parse CPU {result['parse_cpu_s']} s "
              f"({result['parse_cpu_s'] / max(pages, 1):.3f} s a page); projection "
              f"{result['projection']}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"pages": pages, "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
