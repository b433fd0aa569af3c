"""Issue 25: every evaluation set in one registry, the development sets' format read as it
is, and cross-validation by document with a held-out fold that is read only as totals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from service.abstention import ANSWERABLE, KINDS, Observed, load_unanswerable
from service.evalsets.folds import (
    FOLDS,
    HELD_OUT,
    HeldOutMisses,
    cross_validate,
    fold_of,
    question_fold,
    visible_misses,
)
from service.evalsets.registry import UNION, all_sets
from service.evalsets.report import SetResult, set_questions
from service.evalsets.suite import evaluate_all, misses_text
from service.evalsets.verdict import separation
from service.evaluation import ModeScore, Question, load_questions
from service.retrieval.coverage import Calibration
from service.retrieval.search import SearchOptions


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def devset(folder: Path) -> None:
    write_jsonl(folder / "questions.jsonl", [
        {"id": "a001", "question": "how many networks", "file": "a_report.pdf", "page": 16,
         "answer_hint": "there are 7", "kind": "numeric"}])
    write_jsonl(folder / "unanswerable.jsonl", [
        {"id": "au01", "question": "gambling support", "kind": "topic"},
        {"id": "au02", "question": "Norfolk diabetes", "kind": "area"},
        {"id": "au03", "question": "hospice beds", "kind": "topic"}])
    (folder / "pdfs").mkdir()


def names_in(fold: int, count: int) -> list[str]:
    """File names that hash into `fold`."""
    names = (f"doc{i}.pdf" for i in range(10_000))
    return [n for n in names if fold_of(n) == fold][:count]


def test_the_registry_finds_every_devset_and_makes_their_union(tmp_path: Path) -> None:
    root, devsets = tmp_path / "repo", tmp_path / "shared" / "devsets"
    devset(devsets / "alpha")
    devset(devsets / "beta")
    (devsets / "reader").mkdir()  # documents with no questions: not a set
    sets = {s.name: s for s in all_sets(root)}
    assert list(sets) == ["seed", "plans-eval", "alpha", "beta", UNION]
    assert sets["alpha"].corpora == (devsets / "alpha" / "pdfs",)
    assert sets["alpha"].unanswerable == (devsets / "alpha" / "unanswerable.jsonl",)
    union = sets[UNION]
    assert union.corpora == (root / "corpus", tmp_path / "shared" / "pdfs",
                             devsets / "alpha" / "pdfs", devsets / "beta" / "pdfs")
    assert len(union.questions) == 4 and len(union.unanswerable) == 3
    assert "scanned_linn.pdf" in union.exclude and "SOURCES.md" in union.exclude
    assert "no_area" not in union.unanswerable_kinds  # another set may cover that area
    assert len({s.workdir(root) for s in sets.values()}) == 5


def test_a_devset_is_read_in_its_own_format(tmp_path: Path) -> None:
    devset(tmp_path / "alpha")
    project = write_jsonl(tmp_path / "project.jsonl", [
        {"id": "p001", "question": "q", "relevant": ["a.txt", "b.txt"], "answer_hint": "h",
         "tags": ["area", "exact"]}])
    assert load_questions(tmp_path / "alpha" / "questions.jsonl") == [
        Question("a001", "how many networks", ("a_report.pdf",), "there are 7", ("numeric",),
                 16)]
    assert load_questions(project) == [
        Question("p001", "q", ("a.txt", "b.txt"), "h", ("area", "exact"), None)]
    unanswerable = load_unanswerable(tmp_path / "alpha" / "unanswerable.jsonl")
    assert [(u.kind, u.split) for u in unanswerable] == [
        ("uncovered", "tune"), ("no_area", "held-out"), ("uncovered", "tune")]
    assert {u.kind for u in unanswerable} <= set(KINDS)


def test_the_union_asks_shared_unanswerable_questions_once_and_no_area_never(
        tmp_path: Path) -> None:
    root, devsets = tmp_path / "repo", tmp_path / "shared" / "devsets"
    devset(devsets / "alpha")
    write_jsonl(root / "tests" / "data" / "unanswerable.jsonl", [
        {"id": "of01", "question": "capital of France", "kind": "off_topic", "split": "tune"}])
    for name in ("seed-questions", "plans-eval"):
        write_jsonl(root / "tests" / "data" / f"{name}.jsonl", [])
    union = all_sets(root)[-1]
    questions, unanswerable = set_questions(union)
    assert [q.id for q in questions] == ["a001"]
    assert [u.id for u in unanswerable] == ["of01", "au01", "au03"]


def test_folds_are_by_document_and_stable() -> None:
    assert fold_of("a_report.pdf") == fold_of("../shared/devsets/x/pdfs/a_report.pdf")
    assert [fold_of(f"doc{i}.pdf") for i in range(50)] == \
        [fold_of(f"doc{i}.pdf") for i in range(50)]
    folds = {fold_of(f"doc{i}.pdf") for i in range(200)}
    assert folds == set(range(FOLDS)) | {HELD_OUT}
    # every question about one document lands in that document's one fold
    document = names_in(HELD_OUT, 1)[0]
    assert question_fold([document], "s01") == question_fold([document, "x.txt"], "p99") \
        == HELD_OUT


def test_cross_validation_never_fits_on_what_it_scores() -> None:
    """Each fold is predicted by a fit that never saw it; the held-out fold by a fit on
    all the others, and only its totals come back."""
    documents = [n for f in [*range(FOLDS), HELD_OUT] for n in names_in(f, 2)]
    items = [(name, i) for i, name in enumerate(documents)]
    seen: list[set[int]] = []

    def fit(training: list[tuple[str, int]]) -> set[int]:
        seen.append({fold_of(name) for name, _ in training})
        return {fold_of(name) for name, _ in training}

    def predict(folds_seen: set[int], item: tuple[str, int]) -> bool:
        return fold_of(item[0]) in folds_seen  # True would be a leak

    def summarise(pairs: list[tuple[tuple[str, int], bool]]) -> dict[str, float]:
        return {"items": len(pairs), "leaked": sum(leak for _, leak in pairs)}

    report = cross_validate({"one": items}, lambda item: fold_of(item[0]), fit, predict,
                            summarise)
    assert report.out_of_fold == {"one": {"items": 2 * FOLDS, "leaked": 0}}
    assert report.held_out == {"one": {"items": 2, "leaked": 0}}
    assert all(HELD_OUT not in folds for folds in seen)
    with pytest.raises(HeldOutMisses):
        report.held_out_misses("one")


def test_the_held_out_folds_misses_are_never_printed() -> None:
    kept, shown = names_in(HELD_OUT, 1)[0], names_in(0, 1)[0]
    questions = [Question("q1", "held out question", (kept,), "secret hint"),
                 Question("q2", "tuning question", (shown,), "open hint")]
    misses = [{"id": q.id, "rank": None, "question": q.question, "hint": q.answer_hint,
               "top": [f"{q.relevant[0]} p1: text"]} for q in questions]
    result = SetResult("union", 2, questions, [], ModeScore("hybrid", misses=misses), [], [],
                       Calibration(0.0, 1.0, 1.0, 0.5, 0.1))
    text = misses_text(result)
    assert "tuning question" in text and "open hint" in text
    assert "held out question" not in text and "secret hint" not in text and kept not in text
    assert "1 in the held-out fold" in text
    assert visible_misses(misses, result.folds()) == ([misses[1]], 1)


def test_the_verdict_separation_counts_top5_misses_and_hits_flagged() -> None:
    """The issue's figures: the share of top-5 misses flagged weak or not_found, and of
    top-5 hits flagged (an unanswerable question is neither)."""
    def observed(id: str, kind: str, hit: bool) -> Observed:
        return Observed(id, kind, "tune", np.zeros((1, 2)), np.array([float(hit)]),
                        np.array([True]), None, 0)

    pairs = [(observed("a", ANSWERABLE, True), "answered"),
             (observed("b", ANSWERABLE, True), "weak"),
             (observed("c", ANSWERABLE, False), "not_found"),
             (observed("d", ANSWERABLE, False), "answered"),
             (observed("e", "uncovered", False), "weak")]
    figures = separation(pairs)
    assert figures == {
        "questions": 5, "top5_misses": 2, "top5_hits": 2, "misses_flagged": 0.5,
        "hits_flagged": 0.5, "answerable_not_found": 0.25, "answerable_flagged": 0.5,
        "uncovered_flagged": 1.0, "off_topic_or_no_area_flagged": None}


def test_every_set_and_the_union_make_one_table(tmp_path: Path, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    """A tiny real pipeline: two project sets and a devset, each in its own cached index,
    and the union of their documents in one."""
    root, devsets = tmp_path / "repo", tmp_path / "shared" / "devsets"
    (root / "corpus").mkdir(parents=True)
    (root / "corpus" / "glos.txt").write_text("Gloucestershire will open integrated urgent "
                                              "care centres in every town.\n")
    (tmp_path / "shared" / "pdfs").mkdir(parents=True)
    (tmp_path / "shared" / "pdfs" / "ifr.txt").write_text("Complaints about an individual "
                                                          "funding request go to the board.\n")
    devset(devsets / "alpha")
    (devsets / "alpha" / "pdfs" / "a_report.txt").write_text("Within Tower Hamlets there "
                                                             "are 7 primary care networks.\n")
    write_jsonl(devsets / "alpha" / "questions.jsonl", [
        {"id": "a001", "question": "how many primary care networks in Tower Hamlets",
         "file": "a_report.txt", "page": 1, "answer_hint": "there are 7", "kind": "numeric"}])
    data = root / "tests" / "data"
    write_jsonl(data / "seed-questions.jsonl", [
        {"id": "s01", "question": "Gloucestershire urgent care", "relevant": ["glos.txt"],
         "answer_hint": "integrated urgent care centres"}])
    write_jsonl(data / "plans-eval.jsonl", [
        {"id": "p001", "question": "individual funding request complaints",
         "relevant": ["ifr.txt"], "answer_hint": "go to the board", "tags": ["national"]}])
    write_jsonl(data / "unanswerable.jsonl", [
        {"id": "of01", "question": "capital of France", "kind": "off_topic", "split": "tune"}])
    calibration = Calibration(0.0, 1.0, 1.0, 0.5, 0.1)
    text, payload = evaluate_all(root, fake_embedder, lambda observed: calibration)
    assert [row["set"] for row in payload["sets"]] == [
        "seed", "plans-eval", "alpha", UNION, f"{UNION}, held-out fold (totals)"]
    union = payload["sets"][3]
    assert (union["documents"], union["questions"], union["unanswerable"]) == (3, 3, 3)
    assert set(payload["verdict_out_of_fold"]) == {"seed", "plans-eval", "alpha", UNION}
    assert text.count("| union |") == 3  # the table and the two verdict tables
    assert len(list((root / ".cache" / "eval").iterdir())) == 4
    # the learned answer scorer, each question answered by the model fitted without its
    # document's fold: retrieval is the same, the title says how the answers were chosen
    learned, again = evaluate_all(root, fake_embedder, lambda observed: calibration,
                                  options=SearchOptions(answer_scorer="learned"))
    assert "answers by the learned scorer out of fold" in learned
    assert "answers by the learned scorer" not in text
    assert [(r["hit@1"], r["mrr@10"]) for r in again["sets"]] == \
        [(r["hit@1"], r["mrr@10"]) for r in payload["sets"]]
