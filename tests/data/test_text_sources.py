"""Text: WordNet sentences, generated requests and questions, the text split."""

from __future__ import annotations

import re

import numpy as np

from llaso.data.build_mini import sentence_pool
from llaso.data.text_sources import normalise_key, text_split
from llaso.data.text_sources.intents import intent_label, random_request
from llaso.data.text_sources.qa import number_words, random_qa
from llaso.data.text_sources.wordnet import as_sentence, wordnet_texts


def test_wordnet_gives_tens_of_thousands_of_sentences():
    examples, glosses = wordnet_texts()
    assert len(examples) > 25_000 and len(glosses) > 60_000
    keys = {normalise_key(t) for t in examples + glosses}
    assert len(keys) == len(examples) + len(glosses)
    assert all(t[0].isupper() and t[-1] in ".?!" for t in examples[:1000])
    pool = sentence_pool("train", 0)
    assert len({normalise_key(t) for t, _ in pool}) > 20_000
    assert {source for _, source in pool} == {"wordnet-example", "wordnet-gloss",
                                              "generated-request", "generated-question"}


def test_sentence_normalisation():
    assert as_sentence("the  cat sat") == "The cat sat."
    assert as_sentence("is it Paris?") == "Is it Paris?"


def test_text_split_is_stable_and_about_one_in_twenty():
    examples, _ = wordnet_texts()
    share = np.mean([text_split(t) == "test" for t in examples[:5000]])
    assert 0.035 < share < 0.065
    assert text_split("The cat sat.") == text_split("the cat, sat")
    test_pool = {normalise_key(t) for t, _ in sentence_pool("test", 0)}
    train_pool = {normalise_key(t) for t, _ in sentence_pool("train", 0)}
    assert not test_pool & train_pool


def test_requests_annotations_match_utterances():
    rng = np.random.default_rng(0)
    for _ in range(300):
        request = random_request(rng)
        untagged = re.sub(r"\[\w+ : ([^\]]+)\]", r"\1", request.annotated)
        assert untagged == request.utterance
    assert intent_label("iot_hue_lightoff") == "Iot hue lightoff"


def test_questions_have_checkable_answers():
    assert number_words(42) == "forty-two" and number_words(305) == "three hundred and five"
    rng = np.random.default_rng(0)
    words = {number_words(n): n for n in range(1000)}
    for _ in range(500):
        item = random_qa(rng)
        assert item.answer and item.question.endswith("?")
        if item.kind == "arithmetic":
            a, op, b = re.match(r"What is (.+) (plus|minus|times) (.+)\?", item.question).groups()
            a, b = words[a], words[b]
            assert int(item.answer) == {"plus": a + b, "minus": a - b, "times": a * b}[op]
            assert item.text_input == f"{a} and {b}"
        if item.kind == "count":
            assert int(item.answer) == len(item.text_input.split(", "))
