"""NHS area gazetteer: resolve place names to Integrated Care Systems and find them in text."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

# A word is a run of letters/digits, keeping inner apostrophes ("King's"); "&" stands alone so
# "C&W" and "Birmingham & Solihull" tokenise like their spelled-out forms.
_WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|&")
# What may sit between the words of one name: "Stoke-on-Trent", "Stoke on Trent",
# "Bristol, North Somerset". Anything else (a full stop, a bracket) ends the name.
_GAP_RE = re.compile(r"[\s,\-\u2010-\u2015]*")
_AFTER_ST_RE = re.compile(r"\.?[\s,\-\u2010-\u2015]*")  # "St. Helens"
_APOSTROPHES = str.maketrans("", "", "'’")
_EQUIVALENT_WORDS = {"&": "and", "upon": "on", "saint": "st"}

# Generic words wrapped around an area name in formal titles ("NHS Gloucestershire ICB",
# "The Black Country STP"); canonical() peels them off when the full title is not known.
_GENERIC_PREFIXES = frozenset({"nhs", "the"})
_GENERIC_SUFFIXES = tuple(
    tuple(suffix.split())
    for suffix in (
        "ccg|clinical commissioning group|ics|icb|stp|integrated care system|"
        "integrated care board|integrated care partnership|health and care partnership|"
        "sustainability and transformation plan|sustainability and transformation partnership"
    ).split("|")
)

# Document-area rule. Each mention in the body scores 1 and each mention in the title scores
# TITLE_WEIGHT, summed per area. The leader wins only if it has a clear lead: at least
# MIN_SCORE (one passing body mention is not enough), at least MIN_SHARE of all the weight
# (so a national document naming places across England gets None even if one recurs), and
# at least MIN_LEAD times the runner-up (so a two-area comparison gets None).
TITLE_WEIGHT = 3
MIN_SCORE = 2
MIN_SHARE = 0.5
MIN_LEAD = 2.0

_Token = tuple[str, int, int]  # (normalised word, start, end)


@dataclass(frozen=True)
class AreaMention:
    """One place-name mention found in a text, resolved to its canonical ICS name."""

    area: str
    matched: str
    start: int
    end: int


@dataclass(frozen=True)
class _Entry:
    area: str | None  # None for phrases that merely look like an area ("New York")
    exact: tuple[str, ...] | None  # words as they must be written, for case-sensitive aliases


class _Node:
    __slots__ = ("children", "entry")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.entry: _Entry | None = None


def _normalise_word(word: str) -> str:
    word = word.lower().translate(_APOSTROPHES)
    return _EQUIVALENT_WORDS.get(word, word)


def _possessive_stem(text: str, start: int, end: int) -> int | None:
    """End offset of the word before a trailing possessive ("Gloucestershire's"), if any."""
    if end - start > 2 and text[end - 2] in "'’" and text[end - 1] in "sS":
        return end - 2
    return None


class Gazetteer:
    """Canonical ICS names with their STP footprints and aliases, and a matcher over them."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._root = _Node()
        names: list[str] = []
        for record in data["areas"]:
            name = record["name"]
            if name in names:
                raise ValueError(f"gazetteer lists area {name!r} twice")
            names.append(name)
            for phrase in [name, *record["stp_names"], *record["aliases"]]:
                self._add(phrase, name, exact=False)
            for phrase in record.get("exact_case_aliases", []):
                self._add(phrase, name, exact=True)
            for ccg in record.get("former_ccgs", []):
                for phrase in _ccg_variants(ccg):
                    self._add(phrase, name, exact=False)
        for phrase in data.get("non_area_phrases", []):
            self._add(phrase, None, exact=False)
        self._areas = sorted(names)
        # Lower-cased words that can begin a name, as written in text ("saint", not "st").
        self._starts = set(self._root.children) | {
            written for written, key in _EQUIVALENT_WORDS.items() if key in self._root.children
        }

    @classmethod
    def load(cls, path: Path | None = None) -> Gazetteer:
        """Load a gazetteer JSON file; with no path, the bundled one (built once, then shared)."""
        if path is None:
            return _bundled_gazetteer()
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    @property
    def areas(self) -> list[str]:
        """Canonical area names, sorted."""
        return list(self._areas)

    def canonical(self, name: str) -> str | None:
        """Resolve a canonical name, STP name, CCG name or alias (any case) to its area."""
        key = tuple(_normalise_word(w) for w in _WORD_RE.findall(name))
        while key:
            node = self._node_for(key)
            if node is not None and node.entry is not None:
                return node.entry.area
            stripped = _strip_generic_words(key)
            if stripped == key:
                return None
            key = stripped
        return None

    def find_mentions(self, text: str) -> list[AreaMention]:
        """Every area mention in text, left to right, non-overlapping, longest name first."""
        mentions: list[AreaMention] = []
        resume = 0
        for match in _WORD_RE.finditer(text):
            start = match.start()
            word = match.group().lower()
            # Most words start no name; only those (and apostrophe words, which may be
            # possessives) are worth a walk down the trie.
            if start < resume or (word not in self._starts and "'" not in word and "’" not in word):
                continue
            found = self._longest_match(text, start)
            if found is not None:
                resume, area = found
                if area is not None:
                    mentions.append(AreaMention(area, text[start:resume], start, resume))
        return mentions

    def detect_document_area(self, text: str, title: str = "") -> str | None:
        """The one area a whole document is about, or None without a clear leader."""
        scores: Counter[str] = Counter(m.area for m in self.find_mentions(text))
        for mention in self.find_mentions(title):
            scores[mention.area] += TITLE_WEIGHT
        return _clear_leader(scores)

    def detect_query_area(self, query: str) -> str | None:
        """The area a search query names (the first, if it names several), or None."""
        mentions = self.find_mentions(query)
        return mentions[0].area if mentions else None

    def _add(self, phrase: str, area: str | None, *, exact: bool) -> None:
        words: list[str] = _WORD_RE.findall(phrase)
        if not words:
            raise ValueError(f"gazetteer phrase {phrase!r} has no words")
        node = self._root
        for word in words:
            node = node.children.setdefault(_normalise_word(word), _Node())
        existing = node.entry
        if existing is not None and existing.area != area:
            raise ValueError(f"{phrase!r} would name both {existing.area} and {area}")
        if existing is not None and existing.exact is None:
            return  # already matched in any case; an exact-case duplicate adds nothing
        shape = tuple(w.translate(_APOSTROPHES) for w in words) if exact else None
        node.entry = _Entry(area, shape)

    def _node_for(self, key: Sequence[str]) -> _Node | None:
        node: _Node | None = self._root
        for word in key:
            if node is None:
                return None
            node = node.children.get(word)
        return node

    def _longest_match(self, text: str, first: int) -> tuple[int, str | None] | None:
        """(end offset, area) of the longest name starting at offset first, if any."""
        node = self._root
        best: tuple[int, str | None] | None = None
        walked: list[_Token] = []
        for match in _WORD_RE.finditer(text, first):
            key, start, end = _normalise_word(match.group()), match.start(), match.end()
            if walked:
                previous_key, _, previous_end = walked[-1]
                gap_re = _AFTER_ST_RE if previous_key == "st" else _GAP_RE
                if not gap_re.fullmatch(text, previous_end, start):
                    break
            walked.append((key, start, end))
            # A possessive can only end a name, so try the bare word as a final word first.
            stem_end = _possessive_stem(text, start, end)
            if stem_end is not None:
                stem = node.children.get(_normalise_word(text[start:stem_end]))
                entry = stem.entry if stem is not None else None
                if entry is not None and _written_ok(entry, text, walked, stem_end):
                    best = (stem_end, entry.area)
            child = node.children.get(key)
            if child is None:
                break
            node = child
            entry = node.entry
            if entry is not None and _written_ok(entry, text, walked, end):
                best = (end, entry.area)
        return best


def _written_ok(entry: _Entry, text: str, walked: list[_Token], end: int) -> bool:
    """Whether the walked words (the last cut at end) are written as the entry requires."""
    if entry.exact is None:
        return True
    written = [text[s:e] for _, s, e in walked[:-1]]
    written.append(text[walked[-1][1] : end])
    return tuple(w.translate(_APOSTROPHES) for w in written) == entry.exact


def _ccg_variants(ccg: str) -> list[str]:
    """The ways a former CCG is written, from its formal "NHS <place> CCG" name."""
    if not (ccg.startswith("NHS ") and ccg.endswith(" CCG")):
        raise ValueError(f"former CCG {ccg!r} should be written 'NHS <place> CCG'")
    base = ccg[4:-4]
    return [
        f"{prefix}{base} {suffix}"
        for prefix in ("", "NHS ")
        for suffix in ("CCG", "Clinical Commissioning Group")
    ]


def _strip_generic_words(key: tuple[str, ...]) -> tuple[str, ...]:
    if len(key) > 1 and key[0] in _GENERIC_PREFIXES:
        key = key[1:]
    for suffix in _GENERIC_SUFFIXES:
        if key[-len(suffix) :] == suffix and len(key) > len(suffix):
            key = key[: -len(suffix)]
    return key


def _clear_leader(scores: Counter[str]) -> str | None:
    if not scores:
        return None
    ranked = scores.most_common(2)
    area, top = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    total = sum(scores.values())
    if top >= MIN_SCORE and top >= MIN_SHARE * total and top >= MIN_LEAD * runner_up:
        return area
    return None


@lru_cache(maxsize=1)
def _bundled_gazetteer() -> Gazetteer:
    raw = resources.files("service").joinpath("data/gazetteer.json").read_text(encoding="utf-8")
    return Gazetteer(json.loads(raw))
