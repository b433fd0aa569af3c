"""The larger dense share for a question in other words than the plans': it switches on
only when the keyword side's best passage misses the question's topic words."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_support import built_generation

from service.areas import Gazetteer
from service.retrieval.coverage import topic_terms
from service.retrieval.options import SearchOptions
from service.retrieval.paraphrase import paraphrase_options
from service.store import IndexReader

PHARMACIES = ("Community pharmacies\n\nThe county saw a reduction of 11 community pharmacies "
              "between 2019 and 2024, and opening hours fell in rural areas.\n")
CHEMISTS = ("Chemists' opening hours\n\nMost chemists in the market towns now close at "
            "six in the evening on weekdays.\n")


@pytest.fixture
def generation(tmp_path: Path, fake_embedder) -> IndexReader:  # type: ignore[no-untyped-def]
    return built_generation(tmp_path, fake_embedder,
                            {"pharmacies.txt": PHARMACIES, "chemists.txt": CHEMISTS})


def options_for(question: str, generation: IndexReader, options: SearchOptions,
                mode: str = "hybrid") -> SearchOptions:
    analysed = generation.keyword_query(question)
    assert analysed is not None
    keyword = generation.keyword(analysed, 5)
    terms = topic_terms(question, Gazetteer.load())
    return paraphrase_options(options, mode, keyword, terms, generation)


def test_a_question_whose_words_the_best_keyword_passage_holds_keeps_the_share(
        generation: IndexReader) -> None:
    chosen = options_for("reduction of community pharmacies", generation, SearchOptions())
    assert chosen.convex_alpha == SearchOptions().convex_alpha == 0.7


def test_a_paraphrase_gets_the_larger_dense_share(generation: IndexReader) -> None:
    # the best keyword passage holds one of the three topic words (chemists, county, lost)
    chosen = options_for("how many chemists has the county lost", generation, SearchOptions())
    assert chosen.convex_alpha == SearchOptions().paraphrase_alpha == 0.9


def test_it_can_be_turned_off_and_never_touches_other_modes(generation: IndexReader) -> None:
    question = "how many chemists has the county lost"
    off = SearchOptions(paraphrase_alpha=0.0)
    assert options_for(question, generation, off) == off
    assert options_for(question, generation, SearchOptions(), "keyword") == SearchOptions()
    assert options_for(question, generation, SearchOptions(fusion="rrf"), "hybrid") == \
        SearchOptions(fusion="rrf")
