#!/usr/bin/env python
"""Evaluate retrieval quality for every search mode over a JSONL question set."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.abstention import abstention_rows, format_abstention, load_unanswerable, observe_all  # noqa: E402
from service.embedding.models import SentenceTransformerEmbedder  # noqa: E402
from service.evaluation import evaluate, format_table, load_questions, prepare_searcher  # noqa: E402
from service.retrieval.search import SearchOptions  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, required=True, help="JSONL question file")
    parser.add_argument("--corpus", type=Path, action="append",
                        help="corpus folder; repeat to combine several (default: corpus/)")
    parser.add_argument("--exclude", action="append", default=[],
                        help="leave out corpus files matching this glob (e.g. SOURCES.md)")
    parser.add_argument("--workdir", type=Path, help="where the evaluation index is kept "
                        "(default: .cache/eval/<hash of the corpus folders>)")
    parser.add_argument("--model", help="embedding model (default: all-MiniLM-L6-v2)")
    parser.add_argument("--unanswerable", type=Path,
                        default=ROOT / "tests" / "data" / "unanswerable.jsonl",
                        help="JSONL of unanswerable questions for the abstention table")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--misses", choices=["none", "default", "all"], default="default",
                        help="print per-question misses for the default mode, all modes or none")
    args = parser.parse_args()
    corpora = [c.resolve() for c in (args.corpus or [ROOT / "corpus"])]
    key = hashlib.sha1("|".join(map(str, corpora)).encode()).hexdigest()[:10]
    workdir = args.workdir or ROOT / ".cache" / "eval" / key
    embedder = SentenceTransformerEmbedder(args.model)
    searcher = prepare_searcher(corpora, workdir, embedder, tuple(args.exclude))
    questions = load_questions(args.questions)
    base = SearchOptions()
    runs = [("dense", "dense", base), ("keyword", "keyword", base), ("hybrid", "hybrid", base),
            ("hybrid+rerank", "hybrid+rerank", base),
            ("hybrid, no area boost", "hybrid", replace(base, area_boost=0.0)),
            ("hybrid, no synonyms", "hybrid", replace(base, synonyms=False)),
            ("hybrid, RRF fusion", "hybrid", replace(base, fusion="rrf"))]
    scores = [evaluate(searcher, questions, mode, options, label)
              for label, mode, options in runs]
    area_questions = [q for q in questions if "area" in q.tags]
    area_scores = [evaluate(searcher, area_questions, mode, options, label)
                   for label, mode, options in runs
                   if label in ("hybrid", "hybrid, no area boost")] if area_questions else []
    title = f"{args.questions.name}: {len(questions)} questions, " \
            f"{len(searcher.documents)} documents, {searcher.generation.chunk_count} chunks"
    print(format_table(scores, title))
    if area_scores:
        print()
        print(format_table(area_scores, f"the {len(area_questions)} questions tagged 'area' "
                                        "(they name a place)"))
    observed = observe_all(searcher, questions, load_unanswerable(args.unanswerable))
    abstention = {split: abstention_rows(observed, searcher.calibration, split)
                  for split in ("tune", "held-out")}
    for split, rows in abstention.items():
        print()
        print(format_abstention(rows, f"Abstention, {split} part (every other question; "
                                      "scripts/calibrate.py fits on the tune part)"))
    if searcher.reranker is None:
        print("hybrid+rerank: no cross-encoder is available offline, so the rerank stage "
              "re-scores the top 30 by their best sentence's similarity (stored sentence "
              "vectors); set PLANSEARCH_RERANKER to a local cross-encoder folder to use one")
    for score in scores:
        if args.misses == "all" or (args.misses == "default" and score.mode == "hybrid"):
            print(f"\nMisses at rank 1 for {score.mode} ({len(score.misses)}):")
            for miss in score.misses:
                print(f"  {miss['id']} rank={miss['rank']} {miss['question']!r} "
                      f"hint={miss['hint']!r} {miss['interpreted'] or ''}")
                for line in miss["top"]:
                    print(f"      {line}")
    payload = {"questions": str(args.questions), "count": len(questions),
               "modes": [s.row() for s in scores],
               "area_questions": [s.row() for s in area_scores], "abstention": abstention}
    print("\n" + json.dumps(payload))
    if args.json:
        args.json.write_text(json.dumps({**payload, "misses": {s.mode: s.misses for s in scores}},
                                        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
