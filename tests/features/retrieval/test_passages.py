from __future__ import annotations

import pytest

from llaso.features.retrieval.passages import PassageSettings, split_passages, split_sentences
from llaso.features.retrieval.readers import Block, Document


def _doc(*blocks: Block) -> Document:
    return Document(path="x.txt", kind="text", title=None, blocks=list(blocks))


def test_sentences_split_at_capitals_not_at_decimals():
    pieces = [s for _, s in split_sentences("Version 3.11 is out. It is fast! Is it? yes.")]
    assert pieces == ["Version 3.11 is out.", "It is fast!", "Is it? yes."]


def test_passages_overlap_and_stay_within_a_section():
    sentences = [f"Sentence number {i} talks about topic {i}." for i in range(30)]  # 6 words each
    doc = _doc(Block(" ".join(sentences), heading="A", line=1, end_line=30),
               Block("A different section starts here.", heading="B", line=32, end_line=32))
    passages = split_passages(doc, PassageSettings(max_words=30, overlap_words=12))
    in_a = [p for p in passages if p.heading == "A"]
    assert all(len(p.text.split()) <= 30 for p in in_a)
    for left, right in zip(in_a, in_a[1:]):
        shared = {s for _, s in split_sentences(left.text)} & {s for _, s in split_sentences(right.text)}
        assert shared, "consecutive passages share their boundary sentences"
        assert right.start < left.end  # the overlap shows in the character offsets too
    assert passages[-1].heading == "B" and passages[-1].text == "A different section starts here."
    assert [p.ordinal for p in passages] == list(range(len(passages)))
    # Every sentence is in some passage.
    assert all(any(s in p.text for p in passages) for s in sentences)


def test_offsets_point_into_the_document_text():
    doc = _doc(Block("First block here.", line=1, end_line=1), Block("Second block is longer. It has two sentences.", line=3, end_line=3))
    joined = "\n\n".join(b.text for b in doc.blocks)
    for passage in split_passages(doc, PassageSettings(max_words=10, overlap_words=0)):
        assert joined[passage.start : passage.end].split() == passage.text.split()[: len(joined[passage.start : passage.end].split())]


def test_run_on_text_is_cut_to_size():
    doc = _doc(Block(" ".join(["word"] * 250)))
    passages = split_passages(doc, PassageSettings(max_words=100, overlap_words=0))
    assert [len(p.text.split()) for p in passages] == [100, 100, 50]


@pytest.mark.parametrize("words,overlap", [(5, 0), (100, 60), (100, -1)])
def test_bad_settings_are_refused(words, overlap):
    with pytest.raises(ValueError):
        PassageSettings(words, overlap)
