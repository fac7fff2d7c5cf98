from __future__ import annotations

import pytest

from llaso.features.retrieval.metrics import (
    answer_correct,
    answer_word_share,
    calibrate_threshold,
    citation_precision,
    recall_at_k,
    refusal_precision_recall,
)


def test_recall_at_k():
    assert recall_at_k([5, 3, 9], {9}, 3) == 1.0 and recall_at_k([5, 3, 9], {9}, 1) == 0.0


def test_answer_words():
    gold = ["granite", "blocks", "quarried"]
    assert answer_word_share("Built of granite block [1].", gold) == pytest.approx(2 / 3)
    assert answer_correct("Built of granite block [1].", gold)
    assert not answer_correct("It is made of wood.", gold) and answer_word_share("x", []) == 0.0


def test_citation_and_refusal_metrics():
    assert citation_precision([1, 2], {1}) == 0.5 and citation_precision([], {1}) is None
    assert refusal_precision_recall([True, True, False, False], [True, False, True, False]) == (0.5, 0.5)


def test_calibrated_threshold_separates_the_classes():
    relevance = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]
    unanswerable = [True, True, True, False, False, False]
    threshold = calibrate_threshold(relevance, unanswerable)
    assert 0.3 < threshold < 0.7
