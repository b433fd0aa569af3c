"""Passage kinds (service/text/kinds.py): apparatus is recognised by its shape."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.text.kinds import (
    BODY,
    CONTENTS,
    CONTENTS_LINE,
    GLOSSARY,
    REFERENCE_MARK,
    REFERENCES,
    is_contents_line,
    is_reference_line,
    kinds_asked_for,
    passage_kind,
)

BIBLIOGRAPHY = """Health Education England (2017) Facing the facts, shaping the future: a draft
health and care workforce strategy for England to 2027. Available at: https://www.hee.nhs.uk
Smith, J. et al. (2019) Workforce planning in research-active trusts. BMJ 364: l1234.
Jones, A. and Patel, R. (2020) Growing the research workforce. Lancet 395, pp. 12-19.
NIHR (2021) Best research for best health: the next chapter. doi:10.3310/nihr-2021
The King's Fund (2018) The health care workforce in England. Accessed 3 May 2022."""

CONTENTS_PAGE = """Foreword ........................ 3
1 Introduction ........................ 5
2 Our workforce ........................ 12
3 Urgent and emergency care ........................ 18
4 Finance ........................ 27"""

GLOSSARY_PAGE = """ICB – Integrated care board, the NHS body that plans services
ICS – Integrated care system, the partnership of NHS and councils
RTT – Referral to treatment, the waiting time standard
UEC – Urgent and emergency care"""

BODY_TEXT = """Our workforce strategy sets out how we will grow research capacity across the
city. We will create 40 new clinical academic posts by 2025, supported by the NIHR (2021).
Every trust will have a named research lead, and protected time for staff who take part.
This builds on the work of the last five years, described in the annual report."""


@pytest.mark.parametrize(("text", "section", "kind"), [
    (BIBLIOGRAPHY, "", REFERENCES),
    (BIBLIOGRAPHY.split("\n", 3)[3], "References", REFERENCES),
    (CONTENTS_PAGE, "", CONTENTS),
    (GLOSSARY_PAGE, "Glossary", GLOSSARY),
    (BODY_TEXT, "", BODY),
    (BODY_TEXT, "References", BODY),  # a heading alone does not make body text apparatus
    ("One line that cites a report (2019).", "", BODY),  # too short to judge
    ("We will act (NHS England, 2019).\nThe plan runs to 2024.", "", BODY),
    ("[Online ]\n19. Leeds City Council. 2016. Leeds Health and Wellbeing Strategy.", "",
     REFERENCES),  # the short tail of a list: every line a reference
])
def test_kind_by_shape(text: str, section: str, kind: str) -> None:
    assert passage_kind(text, section) == kind


@pytest.mark.parametrize(("question", "asked"), [
    ("what does the Leeds research strategy say about workforce", frozenset()),
    ("which references does the strategy cite on workforce", frozenset({REFERENCES})),
    ("what does ICB stand for", frozenset({GLOSSARY})),
    ("what is in the table of contents", frozenset({CONTENTS})),
    ("how do I complain about an individual funding request decision", frozenset()),
])
def test_questions_about_apparatus(question: str, asked: frozenset[str]) -> None:
    assert kinds_asked_for(question) == asked


# one piece of each REFERENCE_MARK and CONTENTS_LINE form, in the cases real text writes
MARKS = ["(2019)", "( 2021a )", "et al", "ET AL.", "doi", "DOI:10.1", "http://x", "https://",
         "www.nhs.uk", "Available at", "available from", "Accessed", "vol. 3", "Vol 12",
         "p. 4", "pp.12", "[12]", "2019; 4", "2020:12", "Journal", "LANCET", "BMJ", "ISBN",
         "[Online]", "[online ]", "Ibid", ". 2018. ", ". 1999a. ", "..... 12", ". . . 3",
         "… 7", "Introduction 5", "2.1 Our workforce 27", "Total 100",
         "doı", "iſbn", "acceſſed", "DOİ"]  # letters `re` folds as "i" and "s"
LINE = st.lists(st.one_of(st.sampled_from(MARKS), st.text(max_size=12)), max_size=6).map(
    " ".join)


@given(LINE)
def test_the_quick_line_tests_agree_with_the_patterns(line: str) -> None:
    """The substring and last-character checks that skip the patterns for most lines
    never change a line's judgement (they used to take most of a search's ranking time
    at 200,000 chunks)."""
    line = line.strip()
    assert is_reference_line(line) == bool(REFERENCE_MARK.search(line))
    assert is_contents_line(line) == bool(CONTENTS_LINE.search(line))


@pytest.mark.parametrize("mark", MARKS)
def test_each_mark_alone(mark: str) -> None:
    for line in (mark, f"Our plan {mark}", f"{mark} in 2024"):
        assert is_reference_line(line) == bool(REFERENCE_MARK.search(line))
        assert is_contents_line(line) == bool(CONTENTS_LINE.search(line))
