"""What a search may be asked to do: its modes, tuning options and filters, and the
errors a caller must fix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

MODES = ("dense", "keyword", "hybrid", "hybrid+rerank")
DEFAULT_MODE = "hybrid"
MAX_QUERY = 1000  # characters searched, for a search and for a chat's standalone query
MAX_K = 50  # passages one request may ask for


class InvalidQuery(Exception):
    """A request the caller must fix; the message says how."""

    code = "invalid_query"


class InvalidFilter(InvalidQuery):
    """A filter names an area or document that is not in the index, a type no document
    can have, or a date that doesn't parse. `field` names the parameter to fix."""

    code = "invalid_filter"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SearchOptions:
    # convex fusion of min-max normalised scores, with both scores measured for every
    # candidate, beat reciprocal-rank fusion on both evaluation sets (BENCHMARKS.md)
    fusion: str = "convex"  # or "rrf"
    rrf_k: int = 60
    candidates: int = 50  # from each retriever
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    convex_alpha: float = 0.7  # dense share in convex fusion
    # in hybrid: the dense share when the keyword side's best passage holds under
    # `paraphrase_coverage` of the question's topic words (paraphrase.py); 0 turns it off.
    # Union MRR@10 0.7803 -> 0.7977, public-health 0.6542 -> 0.7025, no set worse
    # (BENCHMARKS.md, "A larger dense share for paraphrases")
    paraphrase_alpha: float = 0.9
    paraphrase_coverage: float = 0.5
    # cosines are comparable across queries as they are; min-max stretching magnified
    # noise when every candidate was about as similar (measured: BENCHMARKS.md)
    dense_norm: str = "raw"  # or "minmax"
    area_boost: float = 0.2  # share of the best possible fused score; 0 turns it off
    area_candidates: int = 20  # extra dense candidates drawn from the named area
    synonyms: bool = True  # keyword search also looks for other phrasings (A&E, RTT...)
    phrases: str = "pairs"  # keyword phrases: "pairs" of neighbouring words, "names", "none"
    # in hybrid: weight of the best sentence's similarity among the top candidates. An
    # answer is often one sentence deep in a long PDF passage; 0.2 raised PDF hit@5 from
    # 0.905 to 0.916 and MRR from 0.798 to 0.809 with text and seed questions no worse
    # (BENCHMARKS.md, "PDF questions")
    sentence_weight: float = 0.2
    # in hybrid: a sentence that holds what the question asks for (an amount for "how
    # many", a date for "when", a body for "who": questions.holds_answer) counts its
    # similarity plus this in that re-scoring. Union MRR@10 0.7977 -> 0.8040, every set
    # level or better, nested cross-validation by document 0.7858 -> 0.7917
    # (BENCHMARKS.md, "The answer type in the ranking"); 0 turns it off
    answer_type_bonus: float = 0.25
    # only a statement (or a name line) can answer: a title page, a contents line or a
    # reference list no longer lifts its chunk by a sentence close to the question's words.
    # PDF MRR@10 0.816 -> 0.822 with text and seed questions unchanged (BENCHMARKS.md)
    quotable_sentences: bool = True
    # in hybrid: "learned" orders the top `ranker_depth` fused candidates by the model
    # scripts/fit_ranker.py fits (ranker.py); "weights" keeps the hand-set sentence weight.
    # Out of fold by document the model lost to the hand-set order on seed and plans-eval
    # by more than the keep rule allows (BENCHMARKS.md), so it is not the default
    ranker: str = "weights"
    ranker_depth: int = 40
    # a reference list, contents page or glossary goes after every body passage of the
    # top `ranker_depth` unless the question asks for it (text/kinds.py)
    apparatus_last: bool = True
    # in hybrid: Rocchio feedback (feedback.py); 0 turns it off
    feedback_weight: float = 0.0
    feedback_depth: int = 3  # the first fused candidates whose sentences move the query
    # in hybrid: a third candidate list, the chunks holding the `sentence_candidates` best
    # sentences of the whole index (sentence_source.py); 0 turns it off. Fusion adds
    # `sentence_source_weight` x each candidate's best sentence similarity (convex; in
    # RRF, that weight over its rank), and the re-scoring above then weighs the best
    # quotable sentence by `sentence_weight_with_source` instead of `sentence_weight`.
    # Off: its best setting (50, 0.3, 0.1) moved the union's MRR 0.7803 -> 0.7823 but
    # the held-out fold's 0.8275 -> 0.8234, and every weighted setting lowered the
    # held-out fold (BENCHMARKS.md, "A sentence-level candidate source"). The index is
    # exact and in memory (776 bytes a sentence at 384 dimensions); above
    # `sentence_index_max` sentences (about 22,000 chunks, where its scan would cost
    # more than the search's latency budget) it is not built and the source is off
    sentence_candidates: int = 0
    sentence_source_weight: float = 0.3
    sentence_weight_with_source: float = 0.1
    sentence_index_max: int = 100_000
    rerank_depth: int = 30  # candidates the rerank stage re-scores
    # how the extractive answer scores its candidate sentences: the hand-set "weights"
    # or the "learned" model scripts/fit_answer_scorer.py fits (sentence_scorer.py).
    # Served out of fold by document the model left the union's answer recall at 0.751
    # and lowered plans-eval's 0.854 -> 0.815, so it is not the default (BENCHMARKS.md,
    # "A learned answer-sentence scorer")
    answer_scorer: str = "weights"
    rerank_weight: float = 1.0  # hybrid+rerank without a cross-encoder: sentence weight

    def __post_init__(self) -> None:
        # a misspelt choice used to fall back to another path without a word
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"SearchOptions.{name} must be one of {', '.join(allowed)}, "
                                 f"not {getattr(self, name)!r}")


# the options that pick one of several named ways
CHOICES = {"fusion": ("convex", "rrf"), "dense_norm": ("raw", "minmax"),
           "phrases": ("pairs", "names", "none"), "ranker": ("weights", "learned"),
           "answer_scorer": ("weights", "learned")}


DateRange = tuple[date | None, date | None]  # first and last day, either may be open


@dataclass(frozen=True)
class Filters:
    """Which documents a search reads. Values within one field are alternatives (any
    may match); the fields narrow together (all must)."""

    areas: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    publishers: tuple[str, ...] = ()
    published: tuple[DateRange, ...] = ()  # a document's parsed date in any of them

    def __bool__(self) -> bool:
        return bool(self.areas or self.documents or self.types or self.publishers or
                    self.published)

    @property
    def by_metadata(self) -> bool:
        """It filters on more than the store's own area and document columns."""
        return bool(self.types or self.publishers or self.published)
