"""Joining neighbouring chunks into one passage without repeating their overlap."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.retrieval.passages import MIN_OVERLAP, join_overlapping


def longest_overlap_join(first: str, second: str) -> str:
    """The definition: try every overlap length, longest first."""
    for size in range(min(len(first), len(second)), MIN_OVERLAP - 1, -1):
        if first.endswith(second[:size]):
            return first + second[size:]
    return f"{first}\n\n{second}"


def test_the_shared_sentence_appears_once() -> None:
    first = "Gloucestershire opens two urgent treatment centres. NHS 111 online expands in 2020."
    second = "NHS 111 online expands in 2020. A clinical assessment service follows."
    assert join_overlapping(first, second) == (
        "Gloucestershire opens two urgent treatment centres. NHS 111 online expands in 2020."
        " A clinical assessment service follows.")


def test_chunks_that_share_no_sentence_are_joined_as_paragraphs() -> None:
    assert join_overlapping("Planned care moves to a hub.", "Outpatients go virtual.") == \
        "Planned care moves to a hub.\n\nOutpatients go virtual."


# a small alphabet makes repeated runs (and so several candidate overlaps) likely
TEXT = st.text(alphabet="ab .", max_size=90)


@given(TEXT, TEXT, st.integers(min_value=0, max_value=60))
def test_it_finds_the_longest_overlap(first: str, rest: str, shared: int) -> None:
    second = first[max(0, len(first) - shared):] + rest
    assert join_overlapping(first, second) == longest_overlap_join(first, second)
