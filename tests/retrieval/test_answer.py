"""The extractive answer reads the question: it quotes the sentence that holds what was
asked (a number, a date, a body, a place), stands alone, and fits in about 100 words."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.embedding.sentences import sentence_spans
from service.retrieval.answer import (
    COMPLETION_SLACK,
    ROOT_CREDIT,
    WORD_BUDGET,
    candidates,
    extractive_answer,
    highlight_quoted,
    term_credits,
)
from service.retrieval.questions import holds_answer, question_type
from service.retrieval.quotable import terms
from service.retrieval.results import DocumentRef, Hit
from service.text import root

MARKER = re.compile(r"\s*\[\d+\]")


def hit(rank: int, sentences: list[tuple[str, float]]) -> Hit:
    """A passage made of the given sentences, each with its similarity to the question."""
    text = " ".join(s for s, _ in sentences)
    spans = sentence_spans(text)
    assert len(spans) == len(sentences)
    scored = sorted(zip(spans, (score for _, score in sentences), strict=True),
                    key=lambda item: -item[1])
    document = DocumentRef(f"doc-{rank}", f"Plan {rank}", None, f"plan-{rank}.txt", None)
    return Hit(rank=rank, score=1.0 / rank, text=text, page=1, page_end=1, page_label=None,
               section="", chunk_id=rank, document=document, sentences=tuple(scored))


def quoted(text: str) -> list[str]:
    return [s.strip() for s in MARKER.split(text) if s.strip()]


# --- question typing --------------------------------------------------------------------

@pytest.mark.parametrize(("question", "kind"), [
    ("how many beds will close in Stafford", "amount"),
    ("How much will the seven pathways save each year?", "amount"),
    ("what percentage of referrals are seen within 18 weeks", "amount"),
    ("when was the MSK clinical workshop held", "date"),
    ("what year does the plan end", "date"),
    ("who gives clinical advice to the workstreams", "who"),
    ("which university is supporting the obesity programme", "who"),
    ("where are follow up appointments now done", "where"),
    ("which hospital will host the new unit", "where"),
    ("what are Gloucestershire's urgent care plans", None),
    ("how often are individual funding requests screened", "frequency"),
    ("what happens if the clinician doesn't reply to an information request", "condition"),
    ("rule of rescue individual funding requests", None),  # a request, not an amount
])
def test_question_type(question: str, kind: str | None) -> None:
    assert question_type(question) == kind


# --- sentence choice on hand-made passages ----------------------------------------------

def test_a_how_much_question_quotes_the_sentence_with_the_amount() -> None:
    hits = [hit(1, [("The programme will redesign planned care across the county for everyone.",
                     0.62),
                    ("Savings from the new pathways are estimated at £3m each year overall.",
                     0.55),
                    ("Clinicians from every trust took part in the design of the pathways.",
                     0.50)])]
    answer = extractive_answer("how much will the new pathways save", hits)
    assert "£3m" in answer.text


def test_a_when_question_quotes_the_sentence_with_the_date() -> None:
    hits = [hit(1, [("The clinical workshop brought together surgeons and physiotherapists.",
                     0.60),
                    ("The MSK workshop was held on 17 January 2020 at the county showground.",
                     0.52)])]
    assert "17 January 2020" in extractive_answer("when was the MSK workshop held",
                                                  hits).text


def test_the_first_passage_best_sentence_stays_unless_clearly_beaten() -> None:
    first = ("Urgent care centres will open in every locality by the end of the plan.", 0.50)
    hits = [hit(1, [first]),
            hit(2, [("A network of urgent care centres will serve the whole population.", 0.53),
                    ("Patients will be able to book urgent care online through one service.",
                     0.52)]),
            hit(3, [("Urgent treatment centres will be open twelve hours a day at least.", 0.51)])]
    assert first[0] in quoted(extractive_answer("urgent care centres", hits).text)[0]


def test_a_how_often_question_quotes_the_sentence_with_the_frequency() -> None:
    hits = [hit(1, [("The screening group checks each request against the policy criteria.",
                     0.62),
                    ("Requests are screened almost every working day by the IFR team.", 0.40),
                    ("Requests are screened first by the team and then go to the panel.",
                     0.55)])]
    best = candidates("how often are requests screened", hits)[0]
    assert best.text.startswith("Requests are screened almost every working day")


def test_a_what_happens_if_question_quotes_the_rule_with_its_condition() -> None:
    hits = [hit(1, [("The IFR team may ask the requesting clinician for further information.",
                     0.62),
                    ("The clinician should contact the patient to discuss the final outcome.",
                     0.60),
                    ("If the requester does not reply within 10 working days the request is "
                     "closed.", 0.52)])]
    best = candidates("what happens if the clinician doesn't reply", hits)[0]
    assert "10 working days" in best.text


def test_a_who_question_can_quote_a_signature_line() -> None:
    hits = [hit(1, [("Planned care is a top priority for the partnership across the county.",
                     0.62),
                    ("Mark Seaton, Planned Care Workstream Programme Lead", 0.55)])]
    assert "Mark Seaton" in extractive_answer("who led the planned care workstream", hits).text
    # a question that is not about a person leaves the line out
    assert "Mark Seaton" not in extractive_answer("what are the planned care plans", hits).text


def test_a_name_line_holding_the_body_asked_about_answers_a_yes_no_question() -> None:
    # an unpunctuated line ends its passage here, so that it stays a sentence of its own
    hits = [hit(1, [("The survey received responses from analysts in every region of England.",
                     0.60),
                    ("Public Health Suffolk, Suffolk County Council", 0.58)]),
            hit(2, [("Mark Seaton, Analyst Workforce Programme Lead", 0.57)])]
    text = extractive_answer("did Suffolk County Council take part in the analyst survey",
                             hits).text
    assert "Public Health Suffolk, Suffolk County Council" in text
    # the signature shares topic words, not the name the question gives
    assert "Mark Seaton" not in text


def test_a_word_of_the_same_root_earns_part_of_a_term() -> None:
    roots = {term: root(term) for term in ("close", "compliance", "solar", "nhs")}
    credits = term_credits(terms("Growth slowed after the FiT closure in April 2019, when "
                                 "88% of homes were compliant."), roots)
    assert credits == {"close": ROOT_CREDIT, "compliance": ROOT_CREDIT, "solar": 0.0,
                       "nhs": 0.0}
    assert term_credits(terms("Solar panels on NHS sites."), roots)["solar"] == 1.0


def test_a_when_question_finds_the_date_behind_a_word_of_the_same_root() -> None:
    hits = [hit(1, [("The feed-in tariff opened to new applicants in April 2010.", 0.55),
                    ("The feed-in tariff closure to new applicants came in April 2019.", 0.52)])]
    best = candidates("when did the feed-in tariff close", hits)[0]
    assert "April 2019" in best.text


def test_a_sentence_finishing_a_quoted_thought_may_run_a_little_over_budget() -> None:
    lead = ("The effect of capitalising the assets in the list would be to remove the expense "
            "of the purchases and replace it with a depreciation charge spread over the "
            "five years of their average life.")
    finish = ("This would inflate the surplus and give readers a false sense of the health of "
              "the company.")
    filler = ("The board reviewed the fixed asset register at its meeting in May, with the "
              "chair of the finance and audit committee presenting the proposal to expense "
              "every asset bought this year rather than carry any value forward on the "
              "balance sheet, as the auditors had suggested in their letter to the board.")
    hits = [hit(1, [(filler, 0.80), (lead, 0.75), (finish, 0.70)])]
    text = extractive_answer("why did the board expense rather than capitalise the assets",
                             hits).text
    words = len(MARKER.sub("", text).split())
    assert finish in text and lead in text
    assert WORD_BUDGET < words <= WORD_BUDGET + COMPLETION_SLACK


def test_contents_and_form_lines_are_never_quoted() -> None:
    hits = [hit(1, [("24 Urgent decisions for individual funding requests ........ page 12",
                     0.90)]),
            hit(2, [("2j) Patient’s postcode: 2k) GP name: 2l) GP practice name:", 0.85)]),
            hit(3, [("Urgent individual funding requests are decided within five working "
                     "days.", 0.50)])]
    sentences = quoted(extractive_answer("urgent individual funding requests", hits).text)
    assert sentences == ["Urgent individual funding requests are decided within five working "
                         "days."]


def test_a_pointing_sentence_counts_the_terms_of_the_one_it_leans_on() -> None:
    lead = "In considering individual cases, the panel will take care to avoid identification bias."
    meaning = "This term describes the effect on decision makers of an individual's life story."
    hits = [hit(1, [(lead, 0.45), (meaning, 0.38),
                    ("The panel meets several times a month to consider every new request.",
                     0.44),
                    ("Panel members receive training in the policy before they sit on a panel.",
                     0.43),
                    ("All documents reach the panel anonymised and redacted for confidentiality.",
                     0.42)])]
    sentences = quoted(extractive_answer("what is identification bias", hits).text)
    assert sentences[:2] == [lead, meaning]


def test_sentences_keep_source_order_with_their_markers() -> None:
    hits = [hit(1, [("Community hubs will bring health and care staff together in one place.",
                     0.40)]),
            hit(2, [("Community hubs will open in each of the four districts of the county.",
                     0.70)])]
    text = extractive_answer("community hubs", hits).text
    assert text.index("[1]") < text.index("[2]")
    assert re.fullmatch(r"(?:[^\[\]]+ \[\d\] ?)+", text)


def test_a_dangling_sentence_brings_the_one_it_refers_to() -> None:
    lead = "The county will open a new diagnostic centre for planned care patients."
    hits = [hit(1, [("Waiting lists for planned care have grown in every specialty this year.",
                     0.30),
                    (lead, 0.40),
                    ("It will cut waits for scans by half within two years of opening.", 0.70)])]
    sentences = quoted(extractive_answer("how will waits for scans be cut", hits).text)
    assert sentences[:2] == [lead, "It will cut waits for scans by half within two years of "
                                   "opening."]


def test_a_dangling_sentence_that_opens_its_passage_is_skipped() -> None:
    hits = [hit(1, [("This will cut waits for scans by half within two years of opening.", 0.70),
                    ("Waiting lists for planned care have grown in every specialty this year.",
                     0.45),
                    ("A second diagnostic centre will follow in the north of the county.",
                     0.40)])]
    text = extractive_answer("how will waits for scans be cut", hits).text
    assert not text.startswith("This")
    assert "This will cut" not in text


def test_a_sentence_that_introduces_a_list_brings_its_first_items() -> None:
    text = ("Offer an SGLT2 inhibitor to adults with type 2 diabetes and CKD if:\n"
            "• ACR is over 30 mg/mmol and\n"
            "• they meet the criteria in the marketing authorisation.")
    spans = sentence_spans(text)
    document = DocumentRef("nice", "NICE NG28", None, "ng28.pdf", None)
    scored = tuple(zip(spans, (0.8, 0.5, 0.4), strict=True))
    hits = [Hit(rank=1, score=1.0, text=text, page=1, page_end=1, page_label=None, section="",
                chunk_id=1, document=document, sentences=scored)]
    sentences = quoted(extractive_answer("when to offer an SGLT2 inhibitor", hits).text)
    assert sentences[0].endswith("if:")
    assert sentences[1] == "ACR is over 30 mg/mmol and"


def test_near_duplicates_are_quoted_once() -> None:
    repeated = "The plan will invest in community mental health teams across the county."
    hits = [hit(1, [(repeated, 0.70)]), hit(2, [(repeated, 0.69)]),
            hit(3, [("Crisis cafés will open in three towns to support people at night.", 0.60)])]
    sentences = quoted(extractive_answer("community mental health", hits).text)
    assert sentences.count(repeated) == 1
    assert len(sentences) == 2


def test_the_answer_keeps_to_the_word_budget() -> None:
    topics = ["nurses in district teams", "therapists in community hospitals",
              "care staff in people's homes", "pharmacists in general practice",
              "paramedics in the ambulance service"]
    hits = [hit(rank, [(f"The workforce plan will grow the number of {topic} over the next five "
                        f"years, with training places funded by the partnership and new roles "
                        f"offered to students as they qualify.", 0.7 - rank / 100)])
            for rank, topic in enumerate(topics, start=1)]
    text = extractive_answer("workforce plan for nurses", hits).text
    assert len(quoted(text)) >= 2
    assert len(MARKER.sub("", text).split()) <= WORD_BUDGET


def test_highlights_are_the_quoted_sentences() -> None:
    hits = [hit(1, [("Savings from the new pathways are estimated at £3m each year overall.",
                     0.55),
                    ("The programme will redesign planned care across the county for everyone.",
                     0.62)])]
    answer = extractive_answer("how much will the new pathways save", hits)
    marked = highlight_quoted(hits, answer)[0]
    quotes = [marked.text[s:e] for s, e in marked.highlights]
    assert quotes == quoted(answer.text)


# --- the bundled corpus through POST /api/chat ------------------------------------------

def ask(client: FlaskClient, question: str) -> dict[str, Any]:
    response = client.post("/api/chat", json={"messages": [{"role": "user",
                                                             "content": question}]})
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


@pytest.mark.parametrize(("question", "span"), [
    ("how much will the seven pathways save each year", "£1.9m and £4.4m per annum"),
    ("when was the MSK clinical workshop held", "17 January 2020"),
    ("who gives clinical advice to the workstreams", "Clinical Forum"),
    ("where are follow up appointments now done", "carried out in the community"),
])
def test_the_answer_quotes_the_answering_sentence(client: FlaskClient, question: str,
                                                   span: str) -> None:
    body = ask(client, question)
    answer = body["answer"]["text"]
    assert span in answer
    assert len(MARKER.sub("", answer).split()) <= WORD_BUDGET
    # the card the answer cites highlights the very sentence it quotes
    sentence, marker = next((s, int(n)) for s, n in re.findall(r"\s*(.+?) \[(\d+)\]", answer)
                            if span in s)
    card = body["results"][marker - 1]
    marks = [" ".join(card["text"][s:e].split()) for s, e in card["highlights"]]
    assert any(sentence[:60] in mark for mark in marks)


@pytest.mark.parametrize(("sentence", "amount"), [
    ("The programme will save between £1.9m and £4.4m per annum.", True),
    ("The hospital treated 17 patients on the new ward.", True),
    ("Up to 17 may attend each session.", True),
    ("A clinical workshop was held on 17 January 2020.", False),  # a day is a date
    ("The library re-opens on 19th September.", False),
])
def test_a_day_of_the_month_is_not_an_amount(sentence: str, amount: bool) -> None:
    assert holds_answer("amount", sentence) is amount
