"""The learned ranker (service/retrieval/ranker.py): its file, its refit, and the rule
that apparatus never outranks body text for a question that is not about it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from corpus_support import build_corpus
from paths import DATA

from service.areas import Gazetteer
from service.evalsets.folds import HELD_OUT
from service.evalsets.ranker_fit import fold_rankers, gather, load_windows
from service.evaluation import Question
from service.retrieval.features import FEATURES
from service.retrieval.passages import Candidate
from service.retrieval.ranker import (
    RANKER_FILE,
    LinearRanker,
    RankerMismatch,
    load_ranker,
    reorder,
)
from service.retrieval.search import Searcher, SearchOptions
from service.store import open_store
from service.text.kinds import passage_kind

WINDOWS = DATA / "ranker-training.npz"


def test_the_file_round_trips_and_refuses_other_features() -> None:
    count = len(FEATURES)
    ranker = LinearRanker(FEATURES, np.zeros(count), np.ones(count), np.arange(count) / 10, 0.5)
    again = LinearRanker.from_json(json.loads(json.dumps(ranker.to_json())))
    table = np.random.default_rng(1).normal(size=(4, count)).astype(np.float32)
    assert again.score(table) == pytest.approx(ranker.score(table), abs=1e-5)
    with pytest.raises(RankerMismatch, match="refit"):
        LinearRanker.from_json(ranker.to_json() | {"features": ["dense", "keyword"]})


def test_apparatus_follows_all_body_text_whatever_its_score() -> None:
    window = [Candidate(1, 0.0), Candidate(2, 0.0), Candidate(3, 0.0)]
    ordered = reorder(window, np.array([0.9, 0.5, 0.1]), [True, False, False])
    assert [c.chunk_id for c in ordered] == [2, 3, 1]
    assert [c.score for c in ordered] == pytest.approx([0.5, 0.1, 0.9])


def test_the_shipped_ranker_is_what_the_refit_command_fits() -> None:
    """`scripts/fit_ranker.py --reuse` fits on the committed windows; the shipped file
    must be that fit (rounded as written)."""
    shipped = load_ranker(RANKER_FILE)
    refit = fold_rankers(load_windows(WINDOWS))[HELD_OUT]
    assert shipped.features == refit.features == FEATURES
    assert shipped.mean == pytest.approx(refit.mean, abs=1e-4)
    assert shipped.scale == pytest.approx(refit.scale, abs=1e-4)
    assert shipped.weights == pytest.approx(refit.weights, abs=1e-3)


def test_the_shipped_ranker_orders_answers_above_the_fused_order_in_its_windows() -> None:
    """On the training windows the fitted model must beat the fused order it replaces:
    a model whose file was written wrongly (signs, scaling) would not."""
    windows = [w for w in load_windows(WINDOWS) if w.labels.any()]
    shipped = load_ranker(RANKER_FILE)

    def mrr(score: bool) -> float:
        total = 0.0
        for window in windows:
            order = np.argsort(-shipped.score(window.table), kind="stable") if score \
                else np.arange(len(window.labels))
            rank = next(r for r, i in enumerate(order, start=1) if window.labels[i])
            total += 1 / rank if rank <= 10 else 0.0
        return total / len(windows)

    assert mrr(True) > mrr(False)


REFERENCES = "\n".join(
    f"{n}. Author{n}, A. et al. (20{10 + n}) The Leeds research and innovation workforce "
    f"strategy, part {n}. "
    f"Journal of Workforce Studies {n}(2), pp. {n}-{n + 9}. doi:10.1000/wf{n}"
    for n in range(1, 13))
STRATEGY = f"""# Shared research and innovation strategy for Leeds

## Our people

Research depends on people. Over the next five years we will grow the number of staff who
lead and take part in research, with protected time in every job plan for clinicians who
run studies, forty new clinical academic posts shared between the hospitals and the
university, and training for nurses, midwives and allied health professionals who want
a research career.

## Digital

We will join up the city's data so that researchers can study services across health and
care, with the safeguards patients expect.

## References

{REFERENCES}
"""


@pytest.fixture(scope="module")
def strategy_searcher(tmp_path_factory: pytest.TempPathFactory, embedder) -> Searcher:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("strategy")
    build_corpus(folder / "corpus", folder / "index", embedder,
                 {"leeds-research-strategy.md": STRATEGY})
    store = open_store(folder / "index")
    return Searcher(store.open(store.current() or ""), embedder, Gazetteer.load())


def test_a_reference_list_never_outranks_body_text(strategy_searcher: Searcher) -> None:
    question = "what does the Leeds research and innovation strategy say about workforce"
    hits = strategy_searcher.search(question, k=5).hits
    kinds = [passage_kind(hit.text, hit.section) for hit in hits]
    assert "references" in kinds, "the reference list stays searchable"
    assert kinds[0] == "body" and "protected time" in hits[0].text
    assert kinds.index("references") > max(i for i, k in enumerate(kinds) if k == "body")
    # without the rule the hand-set order puts the reference list first; the learned
    # order keeps the rule
    plain = strategy_searcher.search(question, k=5, options=SearchOptions(apparatus_last=False))
    assert passage_kind(plain.hits[0].text, plain.hits[0].section) == "references"
    learned = strategy_searcher.search(question, k=5, options=SearchOptions(ranker="learned"))
    assert passage_kind(learned.hits[0].text, learned.hits[0].section) == "body"


def test_a_question_about_the_references_leaves_them_where_they_rank(
        strategy_searcher: Searcher) -> None:
    question = "which references on the research workforce does the strategy cite"
    hits = strategy_searcher.search(question, k=5).hits
    plain = strategy_searcher.search(question, k=5,
                                     options=SearchOptions(apparatus_last=False)).hits
    assert [h.chunk_ids for h in hits] == [h.chunk_ids for h in plain]
    assert "references" in [passage_kind(h.text, h.section) for h in hits[:2]]


def test_the_committed_windows_exist_for_the_refit() -> None:
    assert Path(WINDOWS).is_file(), "run scripts/fit_ranker.py to gather them"


def test_the_refit_gathers_a_window_for_each_question(strategy_searcher: Searcher) -> None:
    # scripts/fit_ranker.py without --reuse: the served order is the hand-set one, and
    # the windows must still be logged
    assert SearchOptions().ranker == "weights"
    question = Question("w1", "how many clinical academic posts will the strategy create",
                        ("leeds-research-strategy.md",), "forty new clinical academic posts")
    windows = gather("test", strategy_searcher, [question])
    assert len(windows) == 1 and windows[0].table.shape[1] == len(FEATURES)
    assert windows[0].labels.sum() >= 1
    assert strategy_searcher.feature_log is None
