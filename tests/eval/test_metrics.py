"""The metric functions on small cases whose answers are known by hand."""

from __future__ import annotations

import random

import pytest

from llaso.eval import metrics as m
from llaso.eval.readers import first_number
from llaso.eval.text_normalize import ipa_symbols, normalize_transcript


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


def test_strict_accuracy_and_abstention() -> None:
    references = ["Male.", "Female.", "Male.", "Female."]
    predictions = ["male", "It sounds female to me", "Female.", "I cannot tell"]
    assert m.closed_set_accuracy(predictions, references) == pytest.approx(0.5)
    assert m.abstention_rate(predictions, references) == pytest.approx(0.25)
    assert m.abstention_rate(["male or female", "female"], ["Male.", "Female."]) == 0.5


def test_corrected_mae_parses_first_number_and_ranges() -> None:
    assert first_number("about 20-24 years") == 22.0
    assert first_number("MIDI 60, or 61") == 60.0
    assert first_number("no idea") is None
    predictions, references = ["23", "20-24", "unsure"], ["25", "20", "30"]
    assert m.mean_absolute_error(predictions, references) == pytest.approx((2 + 2) / 2)
    assert m.parsed_count(predictions, references) == 2
    assert m.mean_absolute_error(["?"], ["3"]) is None
    assert m.get_metric("mae_corrected").compute is m.mean_absolute_error


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
        "wer_corrected": False, "cer_corrected": False, "per_corrected": False, "accuracy_strict": True,
        "abstention_rate_strict": False, "mae_corrected": False, "pronunciation_accuracy": True,
        "pronunciation_parsed": None,
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


# ------------------------------------------------- the published (official) semantics


def test_official_accuracy_takes_labels_as_plain_substrings() -> None:
    references = ["Happy.", "Sad.", "Male.", "Female."]
    # "unhappy" names happy; "female" also contains "male", so "The speaker is female" names both.
    assert m.official_accuracy(["unhappy", "sad", "male", "female"], references) == 1.0
    assert m.official_accuracy(["The speaker is female."], ["Female."]) == 1.0  # no "male" label here
    assert m.official_accuracy(["The speaker is female.", "male"], ["Female.", "Male."]) == 0.5
    assert m.closed_set_accuracy(["The speaker is female.", "male"], ["Female.", "Male."]) == 1.0
    # Periods go and case folds, but outer spaces stay: " male" still contains the label.
    assert m.official_accuracy([" MALE. ", "Ｍａｌｅ"], ["Male.", "Male."]) == 0.5
    assert m.official_accuracy([], []) is None


def test_official_abstention_counts_every_label_found_with_ascii_boundaries() -> None:
    references = ["Northern Irish.", "Irish."]
    # A label inside a longer label is a second hit: "Northern Irish" abstains.
    assert m.official_abstention_rate(["Northern Irish", "Irish"], references) == 0.5
    assert m.abstention_rate(["Northern Irish", "Irish"], references) == 0.0
    # "male" is not found in "female", but non-ASCII letters are boundaries: "émale" names it.
    assert m.official_abstention_rate(["female", "émale", "male_"], ["Male.", "Female.", "Male."]) == 0.0
    ages = ["20-24.", "25-29.", "30+."]
    assert m.official_abstention_rate(["120-245", "20-24", "25-29 or 30+"], ages) == pytest.approx(2 / 3)


def test_official_wer_and_cer_swap_roles_and_split_like_jiwer() -> None:
    # Answer 2 words, label 4: the label stands as the hypothesis, N = 2.
    assert m.official_word_error_rate(["a b"], ["a b c d"]) == 1.0
    assert m.word_error_rate(["a b"], ["a b c d"]) == 0.5
    # One tab or newline does not split a word; two whitespace characters do.
    assert m.official_word_error_rate(["a\tb"], ["a b"]) == 2.0  # one answer word, two errors
    assert m.official_word_error_rate(["a \n b"], ["a b"]) == 0.0
    # An empty answer (the official script stops there) adds errors and no length.
    assert m.official_word_error_rate(["", "a b"], ["x y", "a b"]) == 1.0
    assert m.official_word_error_rate([""], ["x"]) is None
    assert m.official_character_error_rate(["  ab  c "], ["ab c"]) == 0.0
    assert m.official_character_error_rate(["abc"], ["abd"]) == pytest.approx(1 / 3)


def test_official_per_keeps_ascii_letters_merged_and_averages_per_answer() -> None:
    # IPA symbols vanish: "bɪ ðə" and "bʊ θɜ" are both just "B".
    assert m.official_phoneme_error_rate(["bɪ ðə"], ["bʊ θɜ"]) == 0.0
    assert m.official_phoneme_error_rate(["bid"], ["bia"]) == 0.0  # A and D are one symbol
    assert m.official_phoneme_error_rate(["b"], ["bcd"]) == 2.0  # over the answer's length
    # Per answer, then averaged: (1/4 + 0) / 2, where corpus level would give 1/8.
    assert m.official_phoneme_error_rate(["bcde", "bbbb"], ["bcdx", "bbbb"]) == pytest.approx(1 / 8 + 0)
    # No letters: 0 if the label has none either, else 1; "ß" upper-cases to letters.
    assert m.official_phoneme_error_rate(["ʃə", "ʃə", "b"], ["ʒə", "s", "b"]) == pytest.approx(1 / 3)
    assert m.official_phoneme_error_rate(["ß"], ["ss"]) == 0.0


def test_official_per_drops_trailing_samples_without_letters_on_both_sides() -> None:
    # The last pair has no ASCII letters at all: the official script drops it, not 0.
    assert m.official_phoneme_error_rate(["bc", "bx", "ə"], ["bc", "bc", "ʃ"]) == pytest.approx(0.25)
    # Only the answer side ends empty: the official script fails; llaso keeps every sample.
    assert m.official_phoneme_error_rate(["bc", "bx", "ə"], ["bc", "bc", "s"]) == pytest.approx(0.5)


def test_official_mae_reads_numbers_by_the_age_and_pitch_rules() -> None:
    answers = ["25", "24-25", "22.7", "adult", "twenty", "I think 20 - 30"]
    references = ["20"] * 6
    # 5, 4 (24.5 rounds to even), 2, 2 (adult is 22), unreadable, 5.
    assert m.official_absolute_errors(answers, references) == [5, 4, 2, 2, None, 5]
    assert m.official_mean_absolute_error(answers, references) == pytest.approx(18 / 5)
    assert m.official_parsed_count(answers, references) == 5
    pitches = ["60.5", "61.5", "C4 (MIDI 60)", "440 Hz", "1e2", "inf"]
    assert m.official_absolute_errors(pitches, ["60"] * 6, reader="pitch") == [0, 2, 56, None, 40, None]
    with pytest.raises(ValueError, match="unknown number reader"):
        m.official_mean_absolute_error(["1"], ["1"], reader="weight")


def test_pronunciation_agreement_over_answers_giving_all_three_scores() -> None:
    reference = "For the sentence: accuracy is 9, prosodic is 8, fluency is 7 total score is 8."
    answers = [
        "Accuracy: 9; prosody: 8; fluency: 6.",  # "proso" stands for prosodic
        "9 for accuracy, 5 for prosodic, 7 for fluency",  # the fallback form
        "accuracy is 9 and fluency is 7",  # no prosodic score: not compared
    ]
    refs = [reference] * 3
    assert m.pronunciation_parsed_count(answers, refs) == 2
    assert m.get_metric("pronunciation_accuracy").compute(answers, refs) == 1.0
    assert m.get_metric("pronunciation_prosodic").compute(answers, refs) == 0.5
    assert m.get_metric("pronunciation_fluency").compute(answers, refs) == 0.5
    assert m.get_metric("pronunciation_fluency").compute(answers[2:], refs[2:]) is None


def test_every_corrected_variant_names_a_registered_metric() -> None:
    assert m.variants_of("wer") == ["wer_corrected"]
    assert m.variants_of("accuracy") == ["accuracy_strict"]
    for name in m.metric_names():
        base = m.get_metric(name).variant_of
        assert base is None or base in m.metric_names()
