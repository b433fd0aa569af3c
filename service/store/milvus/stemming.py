"""SQLite FTS5's porter stemmer, borrowed so that Milvus keywords stem exactly as the
embedded store's do ("investments" and "investing" both match "investment"). Milvus
Lite's analyser has no stemmer, and a server's snowball stemmer differs from porter."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from functools import lru_cache

CACHE_LIMIT = 500_000  # distinct words remembered; a national corpus has fewer


class PorterStemmer:
    def __init__(self) -> None:
        self._conn = sqlite3.connect(":memory:", check_same_thread=False)
        self._conn.executescript(
            "CREATE VIRTUAL TABLE words USING fts5(word, tokenize = 'porter unicode61');"
            "CREATE VIRTUAL TABLE stems USING fts5vocab(words, 'instance');")
        self._stems: dict[str, str] = {}
        self._lock = threading.Lock()

    def stem(self, words: Sequence[str]) -> list[str]:
        """Each word's stem: the term FTS5 would index for it."""
        missing = [w for w in dict.fromkeys(words) if w not in self._stems]
        if missing:
            with self._lock:
                self._conn.executemany("INSERT INTO words (rowid, word) VALUES (?, ?)",
                                       enumerate(missing, start=1))
                rows = self._conn.execute("SELECT doc, term FROM stems ORDER BY doc, offset")
                found: dict[int, str] = {}
                for doc, term in rows:
                    found[doc] = found.get(doc, "") + term  # a word unicode61 splits
                self._conn.execute("DELETE FROM words")
                if len(self._stems) > CACHE_LIMIT:
                    self._stems.clear()
                for number, word in enumerate(missing, start=1):
                    self._stems[word] = found.get(number, word)
        return [self._stems.get(w, w) for w in words]


@lru_cache(maxsize=1)
def porter() -> PorterStemmer:
    """The process's stemmer (its cache is shared by every query thread)."""
    return PorterStemmer()
