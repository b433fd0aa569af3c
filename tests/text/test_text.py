"""The text toolkit (service/text, issue 24): words, stopwords, stems, synonyms and
place stripping, each defined once for the store and retrieval."""

from __future__ import annotations

import pytest

from service.areas import Gazetteer
from service.text import (
    expansions,
    index_terms,
    name_phrases,
    query_terms,
    root,
    stems,
    strip_places,
    synonym_stems,
    text_stems,
    topic_phrase,
    topic_words,
)
from service.text.phrases import adjacent_pairs


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


def test_special_terms_become_single_tokens() -> None:
    assert index_terms("A&E spend of £270m in 2020/21 for Stoke-on-Trent") == \
        "aande spend of 270m in 2020x21 for stoke on trent stokeontrent"
    assert index_terms("£1.5 billion, 2019-2020") == "1p5bn 2019x20"


def test_query_terms_drop_stopwords_and_single_letters_but_keep_digits() -> None:
    assert query_terms("Show me the plans for A&E in 5 years, and A&E again") == \
        ["aande", "5", "years"]


def test_phrases_keep_names_and_neighbouring_content_words_together() -> None:
    assert name_phrases("what is Community Care First in Leeds") == ["community care first"]
    assert adjacent_pairs("planned care waiting lists in the county") == \
        ["planned care", "care waiting", "waiting lists"]


def test_synonyms_expand_a_query_and_join_stems_to_other_phrasings() -> None:
    assert "accident and emergency" in expansions("A&E waiting times")
    assert frozenset({"workf"}) in synonym_stems()["staff"]


def test_the_two_named_comparisons_of_same_word() -> None:
    # coverage: five letters, generous ("maternity" finds "maternal")
    assert stems(["maternity", "plans"]) == {"mater", "plans"}
    assert text_stems("Maternal care plan") == frozenset({"mater", "care", "plan"})
    # answer: the word less a short ending, never below four letters, never for numbers
    assert [root(t) for t in ("close", "compliance", "nhs", "2024")] == \
        ["clos", "complia", None, None]


def test_places_are_stripped_with_their_possessive(gazetteer: Gazetteer) -> None:
    assert strip_places("what are Gloucestershire's plans for stroke", gazetteer) == \
        "what are plans for stroke"
    # a space, not nothing, is left where the place was: neighbours stay two words
    assert strip_places("stroke care (Leeds)plan", gazetteer) == "stroke care ( )plan"


def test_topic_words_and_phrase(gazetteer: Gazetteer) -> None:
    assert topic_phrase("Leeds mental health crisis plans", gazetteer) == "mental health crisis"
    assert topic_phrase("how much is Cornwall's A&E budget of £270m", gazetteer) == \
        "A&E budget £270m"
    assert topic_words("the 'plans' for 2020/21", frozenset({"the", "for"})) == \
        "'plans' 2020/21"
