"""A question in other words than the plans': when the keyword search's best passage holds
few of the question's topic words, the words did not match and the dense side, which
matches meaning, gets a larger share of the fusion.

"how many chemists has the county lost" against "a reduction of 11 community pharmacies":
the keyword side's best passage is about something else that shares a word or two, and
at the usual share (0.7) it still pulls its passages up. Measured on every set
(BENCHMARKS.md, "A larger dense share for paraphrases"): a fixed dense share of 0.8 lifted
the unseen public-health PDFs and cost the seed set's area questions, whose keyword
matches are good; switching only when the keyword side missed the topic words keeps both.
"""

from __future__ import annotations

from dataclasses import replace

from service.retrieval.coverage import term_coverage
from service.retrieval.options import SearchOptions
from service.store import IndexReader, Ranked


def paraphrase_options(options: SearchOptions, mode: str, keyword: Ranked, terms: set[str],
                       generation: IndexReader) -> SearchOptions:
    """For a hybrid search, `options` with the paraphrase dense share when the best
    keyword passage holds under `options.paraphrase_coverage` of the topic words; as they
    are otherwise, with no topic words, with no keyword passage, or with
    `paraphrase_alpha` 0 (off)."""
    if not (options.paraphrase_alpha and keyword and terms and mode.startswith("hybrid")
            and options.fusion == "convex"):
        return options
    best = generation.chunks([keyword[0][0]]).get(keyword[0][0])
    if best is not None and term_coverage(terms, best.text) >= options.paraphrase_coverage:
        return options
    return replace(options, convex_alpha=options.paraphrase_alpha)
