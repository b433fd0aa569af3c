"""Which sentences of a passage can be quoted, and how: statements rather than headings,
menus, contents lines or form fields; name lines for "who" questions; sentences that point
back to the one before them or carry on from it."""

from __future__ import annotations

import re

from service.text import STOPWORDS, WORD, normalise

LONG_LINE = 10  # words in an unpunctuated line that still reads as a sentence

TERMINAL = re.compile(r"[.!?]['’\"”)]*$")
OPEN_ENDING = re.compile(r"\b(?:circa|c|approx|approximately|around|about|of|to|by|e\.g|i\.e|"
                         r"no|nos)\.?$", re.IGNORECASE)
BULLET = re.compile(r"^\s*[•●▪◦\-–*]\s")
DOT_LEADER = re.compile(r"(?:\.\s?){4,}|…{2,}")  # a contents line: "24 Urgent decisions ....... 12"
FORM_FIELD = re.compile(r"(?:^|\s)\(?\w{1,3}\)\s[^:]{1,40}:")  # "2j) Patient's postcode:"
LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")  # single letters are not terms
CAPITALISED = re.compile(r"(?<!\S)[A-ZÀ-ÖØ-Þ]")  # words that start with a capital
NAME_LINE = re.compile(r"^(?:From |By )?(?:(?:Dr|Professor|Prof|Mr|Mrs|Ms|Cllr|Sir|Dame)\.? )?"
                       r"[A-Z][a-z]+(?:[ -][A-Z][a-z]+){1,2},\s|"
                       r"\b(?:Trust|Council|University|CCG|Board|Partnership|Foundation|"
                       r"Commission|Authority)$")
SPECIAL = re.compile(r"[&£/\-–]")  # the characters text.normalise rewrites around
# a sentence opening with one of these leans on the one before it
DANGLING = re.compile(r"^(?:This|That|These|Those|It|Its|They|Their|Them|He|She|His|Her|Such|"
                      r"The latter|The former|Both|Also|However|Therefore|Thus|In addition|"
                      r"Furthermore|Moreover)\b")


def is_statement(sentence: str) -> bool:
    """A sentence fit to quote: long enough, and not a heading or a menu line."""
    text = sentence.strip()
    words = text.split()
    if len(words) < 6:
        return False
    # the substring tests spare most sentences the two searches
    if ("..." in text or "…" in text or ". ." in text) and DOT_LEADER.search(text) or \
            ") " in text and len(FORM_FIELD.findall(text)) > 1:
        return False
    bullet = bool(BULLET.match(text))
    capitalised = len(CAPITALISED.findall(text))
    if len(words) < 6 or capitalised > 0.6 * len(words):  # titles and menu lines
        return False
    # a long, mostly lower-case line is prose whose full stop a line break cut off
    prose = len(words) >= LONG_LINE and capitalised <= 0.3 * len(words)
    return bullet or prose or bool(re.search(r"[.!?:;)'’\"”]$", text))


def is_name_line(sentence: str) -> bool:
    """A signature or list line that names a person or a body ("Mark Seaton, Programme
    Lead", "Gloucestershire Health and Care NHS Foundation Trust"): it answers "who"."""
    text = clean_sentence(sentence)
    return 3 <= len(text.split()) <= 16 and bool(NAME_LINE.search(text))


def clean_sentence(text: str) -> str:
    """The sentence as quoted: one line, no bullet, at most 400 characters."""
    text = re.sub(r"^[\s•●▪◦\-–*]+", "", " ".join(text.split()))
    return text if len(text) <= 400 else text[:397].rsplit(" ", 1)[0] + "…"


def terms(text: str) -> frozenset[str]:
    """The sentence's terms as the search analyser sees them."""
    # normalise only rewrites text with these characters in it, and costs most of the
    # answer's time; without them it is just lower-casing
    analysed = normalise(text) if SPECIAL.search(text) else text.lower()
    return frozenset(set(WORD.findall(analysed)) - STOPWORDS - LETTERS)


def is_dangling(text: str) -> bool:
    """The sentence opens by pointing back ("This", "It", "They", "However")."""
    return bool(DANGLING.match(clean_sentence(text)))


def continues(text: str, lead: str) -> bool:
    """The sentence carries on from the one before: a line break or an abbreviation
    ("a gap of circa. £270m") split one sentence in two."""
    if BULLET.match(text):
        return False  # a list item in lower case starts afresh
    opening = clean_sentence(text)[:1]
    if opening.islower():
        return True
    lead = lead.rstrip()
    # a short unpunctuated line is a heading ("Who we heard from"), not half a sentence
    unfinished = (not TERMINAL.search(lead) and len(lead.split()) >= 6) or \
        bool(OPEN_ENDING.search(lead))
    return unfinished and (opening.isdigit() or opening == "£")
