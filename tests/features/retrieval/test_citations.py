from __future__ import annotations

import pytest

from llaso.features.retrieval.citations import check_citations, expand_numbers, looks_like_refusal

PASSAGES = [
    "The harbour lighthouse was built in 1887 from granite blocks quarried on the island.",
    "The corner bakery opens at seven and is closed on Mondays.",
    "Rainwater from the shed roof fills two cisterns that hold eight thousand litres.",
]


@pytest.mark.parametrize("group,numbers", [("1", [1]), ("1, 2", [1, 2]), ("2-3", [2, 3]), ("1; 3", [1, 3]),
                                           ("1 and 2", [1, 2]), ("#2", [2])])
def test_expand_numbers(group, numbers):
    assert expand_numbers(group) == numbers


def test_a_correct_citation_is_kept_and_supported():
    check = check_citations("The lighthouse was built in 1887 from granite [1].", PASSAGES)
    assert check.cited == [1] and check.supported and not check.dropped
    assert check.text == "The lighthouse was built in 1887 from granite [1]."


@pytest.mark.parametrize("form", ["[1]", "[Passage 1]", "[source 1]", "[1, 2]", "[1][2]", "[ 1 ]"])
def test_citation_forms(form):
    check = check_citations(f"The lighthouse was built in 1887 from granite {form}.", PASSAGES)
    assert check.cited == [1] and check.supported


def test_a_number_that_does_not_exist_is_dropped():
    check = check_citations("The lighthouse was built in 1887 [7].", PASSAGES)
    assert check.dropped == [(7, "there is no passage 7 (given 3)")]
    assert check.text == "The lighthouse was built in 1887." and not check.supported


def test_a_citation_whose_passage_lacks_the_words_is_dropped():
    check = check_citations("The lighthouse was built in 1887 [2]. The bakery is closed on Mondays [2].", PASSAGES)
    assert check.cited == [2] and check.dropped[0][0] == 2
    assert check.text == "The lighthouse was built in 1887. The bakery is closed on Mondays [2]."
    assert not check.supported  # half of the answer's words are in no cited passage


def test_words_not_in_any_cited_passage_make_the_answer_unsupported():
    check = check_citations("The lighthouse is painted red and white with a copper dome [1].", PASSAGES)
    assert not check.supported and check.dropped


def test_attribution_credits_the_passage_holding_an_uncited_answer():
    check = check_citations("It holds eight thousand litres of rainwater.", PASSAGES, attribute=True)
    assert check.cited == [] and check.attributed == [3] and check.supported
    nothing = check_citations("Volcanoes erupt lava frequently.", PASSAGES, attribute=True)
    assert nothing.attributed == [] and not nothing.supported
    assert check_citations("It holds eight thousand litres.", PASSAGES).attributed == []  # off by default


def test_attribution_needs_more_than_a_number():
    passages = PASSAGES + ["Section 3.1 lists the 1 bakery."]
    assert check_citations("3.1", passages, attribute=True).attributed == []
    assert check_citations("Bakery.", passages, attribute=True).attributed == []


@pytest.mark.parametrize("text,refusal", [
    ("I could not find the answer in the documents.", True),
    ("The passages do not mention the opening hours.", True),
    ("I couldn't find that.", True),
    ("The bakery opens at seven [2].", False),
])
def test_refusals(text, refusal):
    assert looks_like_refusal(text) is refusal


def test_restating_the_question_is_not_supported():
    question = "When was the harbour lighthouse built?"
    echo = check_citations("The harbour lighthouse was built [1].", PASSAGES, question=question, attribute=True)
    assert not echo.supported
    real = check_citations("It was built in 1887 from granite [1].", PASSAGES, question=question)
    assert real.supported and real.cited == [1]
