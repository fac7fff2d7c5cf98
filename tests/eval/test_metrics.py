"""The metric functions on small cases whose answers are known by hand."""

from __future__ import annotations

import random

import pytest

from llaso.eval import metrics as m
from llaso.eval.text_normalize import first_number, ipa_symbols, normalize_transcript


def _reference_levenshtein(a, b) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y))
        previous = current
    return previous[-1]


def test_edit_distance_agrees_with_the_textbook_dynamic_programme() -> None:
    rng = random.Random(7)
    for _ in range(500):
        a = [rng.choice(["a", "b", "cd", "iː"]) for _ in range(rng.randint(0, 80))]
        b = [rng.choice(["a", "b", "ce", "i"]) for _ in range(rng.randint(0, 80))]
        assert m.edit_distance(a, b) == _reference_levenshtein(a, b)
    assert m.edit_distance("kitten", "sitting") == 3
    assert m.edit_distance(["a"] * 200, []) == 200


def test_wer_divides_by_the_reference_length_not_the_hypothesis() -> None:
    # Hypothesis has 4 words, reference 2: 2 insertions over N=2 -> 1.0 (swapped roles give 0.5).
    assert m.word_error_rate(["a b c d"], ["a b"]) == pytest.approx(1.0)
    assert m.word_error_rate(["a b"], ["a b c d"]) == pytest.approx(0.5)


def test_error_rates_are_corpus_level() -> None:
    # Per-utterance mean would be (1/1 + 0/9) / 2 = 0.5; corpus level is 1/10.
    predictions = ["x", "one two three four five six seven eight nine"]
    references = ["y", "one two three four five six seven eight nine"]
    assert m.word_error_rate(predictions, references) == pytest.approx(0.1)


def test_raw_and_normalised_rates() -> None:
    assert m.word_error_rate(["Hello, world."], ["hello world"]) == pytest.approx(1.0)
    assert m.word_error_rate_normalized(["Hello, world."], ["hello world"]) == 0.0
    assert m.character_error_rate(["abd"], ["abc"]) == pytest.approx(1 / 3)
    assert m.character_error_rate_normalized(["Don't!"], ["dont"]) == 0.0
    assert normalize_transcript("Well—it's   THE end.") == "well its the end"
    assert m.word_error_rate([], []) is None


def test_per_counts_ipa_symbols_with_their_length_marks() -> None:
    assert ipa_symbols("biː ðə") == ["b", "iː", "ð", "ə"]
    # One changed symbol out of four: the official ASCII-only filter would see nothing here.
    assert m.phoneme_error_rate(["biː ðɐ"], ["biː ðə"]) == pytest.approx(0.25)
    assert m.phoneme_error_rate(["bi ðə"], ["biː ðə"]) == pytest.approx(0.25)


def test_labels_are_not_found_inside_longer_words() -> None:
    labels = m.label_set(["Male.", "Female."])
    assert labels == ["female", "male"]
    assert m.labels_found("The speaker is female.", labels) == {"female"}
    assert m.labels_found("male or female", labels) == {"male", "female"}
    ages = m.label_set(["20-24.", "25-29.", "30+."])
    assert m.labels_found("Probably 20-24", ages) == {"20-24"}
    assert m.labels_found("over 30+", ages) == {"30+"}
    assert m.labels_found("120-245", ages) == set()


def test_a_label_inside_a_longer_label_is_one_hit() -> None:
    labels = m.label_set(["Irish.", "Northern Irish.", "Scottish."])
    assert m.labels_found("Northern Irish.", labels) == {"northern irish"}
    assert m.is_correct_label("Northern Irish accent", "Northern Irish.", labels)
    assert not m.is_correct_label("Northern Irish accent", "Irish.", labels)


def test_accuracy_and_abstention() -> None:
    references = ["Male.", "Female.", "Male.", "Female."]
    predictions = ["male", "It sounds female to me", "Female.", "I cannot tell"]
    assert m.closed_set_accuracy(predictions, references) == pytest.approx(0.5)
    assert m.abstention_rate(predictions, references) == pytest.approx(0.25)
    assert m.abstention_rate(["male or female", "female"], ["Male.", "Female."]) == 0.5


def test_mae_parses_first_number_and_ranges_and_reports_parsed() -> None:
    assert first_number("about 20-24 years") == 22.0
    assert first_number("MIDI 60, or 61") == 60.0
    assert first_number("no idea") is None
    predictions, references = ["23", "20-24", "unsure"], ["25", "20", "30"]
    assert m.mean_absolute_error(predictions, references) == pytest.approx((2 + 2) / 2)
    assert m.parsed_count(predictions, references) == 2
    assert m.mean_absolute_error(["?"], ["3"]) is None


def test_judge_score_parsing() -> None:
    verdicts = ["Score: 4\nExplanation: close", "score:2", "**Score:** 5", "no score here"]
    assert m.parse_judge_score(verdicts[0]) == 4
    assert m.judge_score(verdicts) == pytest.approx((4 + 2 + 5) / 3)
    assert m.judged_count(verdicts) == 3


def test_registry_knows_direction_of_every_schema_metric() -> None:
    expected = {
        "wer": False, "cer": False, "wer_normalized": False, "cer_normalized": False, "per": False,
        "accuracy": True, "abstention_rate": False, "mae": False, "parsed": None,
        "judge_score": True, "judged": None, "exact_match": True,
    }
    for name, higher in expected.items():
        assert m.get_metric(name).higher_is_better is higher
    with pytest.raises(KeyError, match="unknown metric"):
        m.get_metric("bleu")


def test_exact_match_ignores_case_and_punctuation_only() -> None:
    assert m.exact_match(["Paris.", "light-blue", "Paris is the capital"], ["paris", "Light blue", "Paris"]) == 2 / 3
    assert m.exact_match([], []) is None


def test_a_new_metric_registers_by_name() -> None:
    name = "exact_match_test_only"
    if name not in m.metric_names():
        m.register_metric(name, higher_is_better=True, description="exact match")(
            lambda p, r: sum(a == b for a, b in zip(p, r)) / len(r)
        )
    assert m.get_metric(name).compute(["a", "b"], ["a", "c"]) == 0.5
    with pytest.raises(ValueError, match="already registered"):
        m.register_metric(name, higher_is_better=True, description="again")(lambda p, r: 0.0)
