"""The coverage verdict: calibrated scores, not_found and weak answers, other-area marks,
and the logistic fit behind them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

from service.abstention import fit_logistic
from service.areas import Gazetteer
from service.evalsets.calibration_fit import calibration_rows, fit
from service.evalsets.doubt_fit import TRAINING, load_samples
from service.retrieval.coverage import (
    Calibration,
    bundled_calibration,
    names_area,
    term_coverage,
    topic_terms,
    verdict,
)

GLOUCESTERSHIRE = "gloucestershire-stp-community-partner-bulletin-1-txt"
CALIBRATION = Calibration(intercept=-6.0, dense_weight=8.0, coverage_weight=3.0,
                          answered=0.5, weak=0.1)


def search(client: FlaskClient, query: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/api/search", json={"query": query, **extra})
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


# --- over the bundled corpus -----------------------------------------------------------

@pytest.mark.parametrize("query", ["what is the capital of France", "recipe for chocolate cake"])
def test_an_off_topic_question_is_not_found(client: FlaskClient, query: str) -> None:
    body = search(client, query)
    assert body["coverage"]["status"] == "not_found"
    assert body["coverage"]["area"] is None
    assert body["coverage"]["message"].startswith("The indexed plans don't cover this question")
    assert len(body["results"]) == 5  # still listed, as the closest passages
    assert max(r["score"] for r in body["results"]) < bundled_calibration().weak


def test_an_area_with_no_documents_is_not_found_and_named(client: FlaskClient) -> None:
    body = search(client, "what are Cornwall's plans for maternity services")
    assert body["coverage"] == {
        "status": "not_found",
        "message": "No documents about Cornwall and the Isles of Scilly are indexed. The "
                   "closest passages below are from other areas.",
        "area": {"name": "Cornwall and the Isles of Scilly", "documents": 0}}
    assert all(r["other_area"] for r in body["results"] if r["document"]["area"])


def test_an_answerable_question_is_answered_with_todays_top_passage(
        client: FlaskClient) -> None:
    body = search(client, "what are Gloucestershire's urgent care plans")
    assert body["coverage"] == {"status": "answered", "message": None,
                                "area": {"name": "Gloucestershire", "documents": 1}}
    top = body["results"][0]
    assert top["document"]["id"] == GLOUCESTERSHIRE
    assert "network of integrated urgent care centres" in " ".join(top["text"].split())
    assert top["score"] >= bundled_calibration().answered
    assert not top["other_area"]


def test_scores_are_absolute_not_rank_relative(client: FlaskClient) -> None:
    strong = search(client, "what are Gloucestershire's urgent care plans")["results"][0]
    weak = search(client, "what is the capital of France")["results"][0]
    calibration = bundled_calibration()
    # both are first, and neither is simply 1.0
    assert strong["score"] >= calibration.answered > calibration.weak > weak["score"]
    assert strong["score"] > 10 * weak["score"]


def test_other_areas_are_marked_when_a_question_names_an_area(client: FlaskClient) -> None:
    body = search(client, "Staffordshire planned care savings", k=10)
    assert body["coverage"]["area"] == {"name": "Staffordshire and Stoke-on-Trent",
                                        "documents": 2}
    for result in body["results"]:
        area = result["document"]["area"]
        assert result["other_area"] == (area is not None and
                                        area != "Staffordshire and Stoke-on-Trent")
    assert any(r["other_area"] for r in body["results"])


def test_chat_not_found_replaces_the_answer_with_the_message(client: FlaskClient) -> None:
    response = client.post("/api/chat", json={"messages": [
        {"role": "user", "content": "what are Cornwall's plans for maternity services"}]})
    body = response.get_json()
    assert body["coverage"]["status"] == "not_found"
    assert body["answer"] == {"text": body["coverage"]["message"], "citations": []}
    assert len(body["results"]) == 5


def test_chat_never_quotes_another_area_for_a_named_area(client: FlaskClient) -> None:
    response = client.post("/api/chat", json={"messages": [
        {"role": "user", "content": "how will Birmingham and Solihull manage hospital demand?"}],
        "k": 10})
    body = response.get_json()
    other = {r["rank"] for r in body["results"] if r["other_area"]}
    assert other  # the trap is there to fall into
    assert body["answer"]["citations"]
    assert not {c["rank"] for c in body["answer"]["citations"]} & other


# --- the pieces -------------------------------------------------------------------------

def test_the_shipped_calibration_is_what_the_refit_command_fits() -> None:
    """scripts/calibrate.py --reuse fits the committed observations of seed and
    plans-eval (tests/data/verdict-training.json); the shipped file must be that fit."""
    refit, _ = fit(calibration_rows(load_samples(TRAINING)))
    shipped = bundled_calibration()
    assert (shipped.intercept, shipped.dense_weight, shipped.coverage_weight) == \
        pytest.approx((refit.intercept, refit.dense_weight, refit.coverage_weight), abs=1e-3)
    assert (shipped.answered, shipped.weak) == pytest.approx((refit.answered, refit.weak),
                                                             abs=1e-4)


def test_the_bundled_calibration_is_ordered() -> None:
    calibration = bundled_calibration()
    assert 0 < calibration.weak < calibration.answered < 1
    assert calibration.dense_weight > 0 and calibration.coverage_weight > 0


def test_relevance_grows_with_both_features() -> None:
    assert CALIBRATION.relevance(0.6, 1.0) > CALIBRATION.relevance(0.6, 0.5) > \
        CALIBRATION.relevance(0.3, 0.5)
    assert 0 < CALIBRATION.relevance(0.0, 0.0) < CALIBRATION.relevance(1.0, 1.0) < 1


def test_topic_terms_leave_out_places_stopwords_and_generic_words() -> None:
    gazetteer = Gazetteer.load()
    assert topic_terms("what are Cornwall's plans for maternity services", gazetteer) == \
        {"mater"}
    assert term_coverage({"mater", "stroke"}, "Maternal health in the county") == 0.5
    assert term_coverage(set(), "anything") == 1.0


def test_topic_words_are_found_in_their_other_phrasings() -> None:
    # nhs_terms.json groups "staff" with "workforce" and "IFR" with its long form
    assert term_coverage({"staff", "short"}, "Our workforce plan tackles shortages") == 1.0
    assert term_coverage({"ifr"}, "An individual funding request is made by a clinician") \
        == 1.0
    assert term_coverage({"ifr"}, "A request for funding was made") == 0.0


def test_a_passage_about_an_area_speaks_for_it_where_a_list_naming_it_does_not() -> None:
    gazetteer = Gazetteer.load()
    case_study = ("In just four months we supported 250 care homes in north west London to "
                  "be digitally safe. North West London ICB commissioned the work.")
    listing = "Respondents: NHS Liverpool CCG, NHS Surrey Heartlands CCG, NHS Leeds CCG."
    assert names_area(case_study, "", "North West London", gazetteer)
    assert not names_area(listing, "", "Surrey Heartlands", gazetteer)


def test_an_area_without_documents_named_by_a_passage_shown() -> None:
    # a passage shown is about the area though no document is: judged on that passage
    answered = verdict(0.9, 0.8, CALIBRATION, "North West London", 0, "", mentioned=True)
    assert answered.status == "answered"
    assert answered.to_dict()["area"] == {"name": "North West London", "documents": 0}
    weak = verdict(0.9, 0.3, CALIBRATION, "North West London", 0, "", mentioned=True)
    assert weak.status == "weak" and "No documents about North West London" in \
        (weak.message or "")
    assert verdict(0.9, 0.05, CALIBRATION, "North West London", 0, "",
                   mentioned=True).status == "not_found"


@pytest.mark.parametrize(("best", "in_area", "area", "documents", "status"), [
    (0.9, 0.0, None, 0, "answered"),
    (0.3, 0.0, None, 0, "weak"),
    (0.05, 0.0, None, 0, "not_found"),
    (0.9, 0.0, "Cornwall and the Isles of Scilly", 0, "not_found"),
    (0.9, 0.05, "West Yorkshire", 2, "weak"),
    (0.9, 0.3, "West Yorkshire", 2, "weak"),
    (0.9, 0.8, "West Yorkshire", 2, "answered"),
    (0.05, 0.05, "West Yorkshire", 2, "not_found"),
])
def test_verdict(best: float, in_area: float, area: str | None, documents: int,
                 status: str) -> None:
    coverage = verdict(best, in_area, CALIBRATION, area, documents, "mental health crisis")
    assert coverage.status == status
    assert (coverage.message is None) == (status == "answered")


def test_an_area_without_relevant_passages_says_what_it_has() -> None:
    coverage = verdict(0.9, 0.05, CALIBRATION, "West Yorkshire", 2, "mental health crisis")
    assert coverage.message == ("West Yorkshire has 2 documents; none discusses 'mental "
                                "health crisis'. The closest passages below are from other "
                                "areas.")
    assert coverage.to_dict()["area"] == {"name": "West Yorkshire", "documents": 2}


def test_logistic_fit_recovers_known_parameters() -> None:
    rng = np.random.default_rng(7)
    features = rng.uniform(0, 1, size=(4000, 2))
    truth = np.array([-4.0, 5.0, 3.0])
    p = 1 / (1 + np.exp(-(truth[0] + features @ truth[1:])))
    labels = (rng.uniform(size=len(p)) < p).astype(float)
    intercept, weights = fit_logistic(features, labels, l2=0.0)
    assert intercept == pytest.approx(truth[0], abs=0.6)
    assert weights == pytest.approx(truth[1:], abs=0.8)
