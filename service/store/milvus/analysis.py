"""Keyword text for Milvus's BM25: the embedded store's normalisation (A&E -> aande,
£270m, 2020/21 -> 2020x21, hyphens) and its porter stemmer, then each pair of
neighbouring words as one more token ("plan_care"), because Milvus BM25 has no phrase
queries and the embedded store ranks a passage that keeps a question's word pairs
together higher.

Common words count, as they do in the embedded store: tantivy's IDF, like Milvus's, is
log(1 + (N - n + 0.5) / (n + 0.5)). (SQLite FTS5, before tantivy, gave a word in half the
chunks or more ~0 weight, so queries here once left those words out. That made the two
stores disagree (issue 24): "care" scored in tantivy but not here, and on the mission's
question the urgent-care passage's neighbour overtook another passage by 0.001 and
merged into the first passage, changing how it opens.) A build still records them in
the manifest (`keyword_common_words`), whose format is unchanged."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from service.store.milvus.stemming import porter
from service.text import PHRASES, WORD, expansions, index_terms, query_terms


@dataclass(frozen=True)
class BM25Query:
    text: str
    tokens: str  # what Milvus's analyser will split back into the query's terms


def pairs(words: list[str]) -> list[str]:
    return [f"{first}_{second}" for first, second in zip(words, words[1:], strict=False)]


def chunk_terms(title: str, section: str, text: str) -> str:
    """The analysed field of one chunk: its words, then its word pairs."""
    words = porter().stem(index_terms(f"{title} {section} {text}").split())
    return " ".join(words + pairs(words))


def words_of(terms: str) -> set[str]:
    """The distinct single words of a chunk's analysed field (not its pairs)."""
    return {token for token in terms.split() if "_" not in token}


def common_words(frequencies: Counter[str], chunks: int) -> list[str]:
    """Words in at least half the chunks: the ones SQLite's BM25 weighs at ~0."""
    return sorted(word for word, count in frequencies.items() if count * 2 >= chunks > 0)


def bm25_query(text: str, synonyms: bool = True, phrases: str = "pairs"
               ) -> BM25Query | None:
    """The question's terms, other phrasings of them and its phrases, as tokens."""
    stem = porter().stem
    tokens: dict[str, None] = dict.fromkeys(stem(query_terms(text)))
    for phrase in (expansions(text) if synonyms else []) + PHRASES[phrases](text):
        words = stem(WORD.findall(phrase))
        tokens.update(dict.fromkeys(pairs(words) if len(words) > 1 else words))
    return BM25Query(text, " ".join(tokens)) if tokens else None
