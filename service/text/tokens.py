"""Words as the search sees them: special terms ("A&E", "£270m", "2020/21",
"Stoke-on-Trent") rewritten into single tokens, so that they match however they are
written, then split into words. The keyword index stores `index_terms` of each chunk,
so changing what these functions return changes what an existing index matches."""

from __future__ import annotations

import re

from service.text.stopwords import STOPWORDS

# "A&E" -> "aande": an ampersand between letters is part of the name, not punctuation
AMPERSAND_TERM = re.compile(r"\b([A-Za-z]{1,3})\s?&\s?([A-Za-z]{1,3})\b")
MONEY = re.compile(r"£\s?(\d[\d,]*(?:\.\d+)?)\s?(m|mn|million|bn|billion|k)?\b", re.IGNORECASE)
YEAR_RANGE = re.compile(r"\b(19|20)(\d\d)\s?[/\-–]\s?(?:(?:19|20)(?=\d\d\b))?(\d\d)\b")
HYPHENATED = re.compile(r"\b([A-Za-z]+(?:-[A-Za-z]+)+)\b")
WORD = re.compile(r"[^\W_]+", re.UNICODE)
# a word as it is quoted back to the reader, keeping "A&E", "£270m" and "2020/21" whole
QUOTED_WORD = re.compile(r"[\w&£'’/-]+")
UNIT_SUFFIX = {"m": "m", "mn": "m", "million": "m", "bn": "bn", "billion": "bn", "k": "k"}


def _money(match: re.Match[str]) -> str:
    amount = match.group(1).replace(",", "")
    unit = UNIT_SUFFIX.get((match.group(2) or "").lower(), "")
    return f" {amount.replace('.', 'p')}{unit} "


def normalise(text: str) -> str:
    """Rewrite special terms into single word tokens that the keyword analyser keeps whole."""
    text = AMPERSAND_TERM.sub(lambda m: f"{m.group(1)}and{m.group(2)}", text)
    text = MONEY.sub(_money, text)
    text = YEAR_RANGE.sub(lambda m: f"{m.group(1)}{m.group(2)}x{m.group(3)}", text)
    # keep the parts and add the joined form: "co-ordinate" matches "coordinate" too
    text = HYPHENATED.sub(lambda m: f"{m.group(1).replace('-', ' ')} {m.group(1).replace('-', '')}",
                          text)
    return text.lower()


def words(text: str) -> list[str]:
    """The text's words, lower-cased, without normalising special terms."""
    return WORD.findall(text.lower())


def analysed_words(text: str) -> list[str]:
    """The text's words after special terms are normalised."""
    return WORD.findall(normalise(text))


def index_terms(text: str) -> str:
    """The text the keyword index stores for one chunk."""
    return " ".join(analysed_words(text))


def query_terms(text: str) -> list[str]:
    """Distinct, meaningful query terms in order."""
    seen: dict[str, None] = {}
    for term in analysed_words(text):
        if term not in STOPWORDS and (len(term) > 1 or term.isdigit()):
            seen.setdefault(term, None)
    return list(seen)
