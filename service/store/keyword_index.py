"""The embedded store's keyword engine: a tantivy index (BM25 with block-max WAND, so
top-k never scores every match) in one folder of each generation. Segment files are
immutable, so a new generation hard-links its base's and writes only what changed."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

from service.text import PHRASES, expansions, index_terms, query_terms

ID, TERMS = "id", "terms"
ANALYZER = "plansearch_en"
# the writer's in-memory buffer: a larger one makes fewer segments in a full build
WRITER_HEAP = 64_000_000
# an area or document filter is a set of chunk ids, matched exactly; a larger one is
# applied after ranking (this many more hits fetched) rather than sent as a term set
FILTER_TERMS = 50_000
FILTERED_FETCH = 10
# A filter allowing at least this share of the chunks (a type, a span of years: issue 26)
# is applied after ranking, fetching enough hits for k to survive it; a term set of tens
# of thousands of ids cost 50 ms a search at 200k chunks (BENCHMARKS.md, "The library").
# Should too few survive, the exact term set answers after all.
BROAD_FILTER_SHARE = 0.1
BROAD_FETCH_MARGIN = 3  # hits fetched: k / share * this
# tantivy weighs a phrase by the sum of its words' IDFs, FTS5 by the phrase's own rarity,
# so phrases count for more than they did under FTS5. Of the factors tried (0.5 to 1.0),
# this one keeps every mode of both evaluation sets within 0.01 of FTS5 or better
# (BENCHMARKS.md, "Keyword engines").
PHRASE_WEIGHT = 0.9


def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field(ID, indexed=True, fast=True)
    builder.add_text_field(TERMS, tokenizer_name=ANALYZER)
    return builder.build()


def analyzer() -> tantivy.TextAnalyzer:
    """The text is normalised and split by text.index_terms already; the English
    stemmer makes "planning" match "plans", as FTS5's porter tokenizer did."""
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()) \
        .filter(tantivy.Filter.stemmer("english")).build()


def open_index(folder: Path) -> tantivy.Index:
    """An existing index, memory-mapped (tantivy's mmap directory)."""
    if not (folder / "meta.json").is_file():
        raise FileNotFoundError(f"no keyword index in {folder}")
    index = tantivy.Index.open(str(folder))
    index.register_tokenizer(ANALYZER, analyzer())
    return index


def index_files(folder: Path) -> list[str]:
    """The files that make up the index: not tantivy's lock files, which any opening
    may create."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


class KeywordIndex:
    """The keyword index of an unpublished generation."""

    def __init__(self, folder: Path, index: tantivy.Index) -> None:
        self.folder = folder
        self.index = index
        self.schema = index.schema
        self._writer: Any = None

    @classmethod
    def create(cls, folder: Path) -> KeywordIndex:
        folder.mkdir(parents=True, exist_ok=True)
        index = tantivy.Index(schema(), str(folder), reuse=False)
        index.register_tokenizer(ANALYZER, analyzer())
        return cls(folder, index)

    @classmethod
    def copy_from(cls, base: Path, folder: Path) -> KeywordIndex:
        """The base generation's index, sharing its segment files by hard link (tantivy
        never rewrites one: deletes go to new .del files). The JSON files are rewritten
        at commit, so they are copied."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in index_files(base):
            if name.endswith(".json"):
                shutil.copy2(base / name, folder / name)
                continue
            try:
                os.link(base / name, folder / name)
            except OSError:  # a file system without hard links: the same, bigger
                shutil.copy2(base / name, folder / name)
        return cls(folder, open_index(folder))

    @property
    def writer(self) -> Any:
        if self._writer is None:
            self._writer = self.index.writer(WRITER_HEAP, 1)
        return self._writer

    def add(self, chunk_id: int, text: str) -> None:
        document = tantivy.Document()
        document.add_unsigned(ID, chunk_id)
        document.add_text(TERMS, index_terms(text))
        self.writer.add_document(document)

    def delete(self, chunk_ids: Sequence[int]) -> None:
        if chunk_ids:
            self.writer.delete_documents_by_query(
                tantivy.Query.term_set_query(self.schema, ID, list(chunk_ids)))

    def commit(self) -> None:
        """Write the changes and wait for merges, so no file changes after this."""
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()
            self._writer = None


@dataclass(frozen=True)
class TantivyQuery:
    text: str
    query: tantivy.Query


class KeywordSearcher:
    """Read side: one searcher over the generation's segments, shared by threads."""

    def __init__(self, folder: Path) -> None:
        self.index = open_index(folder)
        self.schema = self.index.schema
        self.searcher = self.index.searcher()
        self.count = int(self.searcher.num_docs)
        self._analyzer = analyzer()

    def query(self, text: str, synonyms: bool = True, phrases: str = "pairs"
              ) -> TantivyQuery | None:
        """The question's terms, other phrasings of them and its phrases, any of which
        may match (as keywords.keyword_query builds for FTS5). Built as a structured
        query, never parsed: no user text can be a syntax error."""
        clauses: dict[tuple[str, ...], tantivy.Query] = {}
        for part in [*query_terms(text), *(expansions(text) if synonyms else []),
                     *PHRASES[phrases](text)]:
            words = tuple(self._analyzer.analyze(part))
            if not words or words in clauses:
                continue
            clauses[words] = tantivy.Query.term_query(self.schema, TERMS, words[0]) \
                if len(words) == 1 else tantivy.Query.boost_query(
                    tantivy.Query.phrase_query(self.schema, TERMS, list(words)), PHRASE_WEIGHT)
        if not clauses:
            return None
        should = [(tantivy.Occur.Should, clause) for clause in clauses.values()]
        return TantivyQuery(text, tantivy.Query.boolean_query(should))

    def search(self, query: TantivyQuery, k: int, allowed: Sequence[int] | None = None
               ) -> list[tuple[int, float]]:
        """BM25 top-k chunk ids, optionally only among `allowed` ids."""
        if allowed is not None and len(allowed) >= BROAD_FILTER_SHARE * self.count > 0:
            permitted = set(allowed)
            fetch = int(k * self.count / len(permitted) * BROAD_FETCH_MARGIN) + k
            ranked = [pair for pair in self._hits(query.query, fetch) if pair[0] in permitted]
            if len(ranked) >= k or fetch >= self.count:
                return ranked[:k]
        if allowed is not None and len(allowed) <= FILTER_TERMS:
            return self._hits(self._among(query, allowed), k) if allowed else []
        ranked = self._hits(query.query, k if allowed is None else k * FILTERED_FETCH)
        if allowed is not None:
            permitted = set(allowed)
            ranked = [pair for pair in ranked if pair[0] in permitted]
        return ranked[:k]

    def scores(self, query: TantivyQuery, ids: Sequence[int]) -> dict[int, float]:
        """BM25 of chosen chunks (0 for those that match no term): the query restricted
        to those ids, so only they are scored."""
        scores = {int(i): 0.0 for i in ids}
        if ids:
            scores.update(self._hits(self._among(query, ids), len(ids)))
        return scores

    def _among(self, query: TantivyQuery, ids: Iterable[int]) -> tantivy.Query:
        only = tantivy.Query.const_score_query(
            tantivy.Query.term_set_query(self.schema, ID, [int(i) for i in ids]), 0.0)
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, query.query),
                                            (tantivy.Occur.Must, only)])

    def _hits(self, query: tantivy.Query, k: int) -> list[tuple[int, float]]:
        hits = self.searcher.search(query, k, count=False).hits
        ids = self.searcher.fast_field_values(ID, [address for _, address in hits])
        return [(int(i), float(score)) for (score, _), i in zip(hits, ids, strict=True)
                if i is not None]
