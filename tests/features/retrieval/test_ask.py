from __future__ import annotations

import warnings

import pytest

from llaso.errors import LlasoError
from llaso.features.retrieval import PassageIndex, ask, retrieve
from llaso.features.retrieval.ask import Answer, finish_answer
from llaso.features.retrieval.prompt import REFUSAL, build_messages


@pytest.fixture()
def index(tmp_path, docs_dir):
    with PassageIndex.create(tmp_path / "index.sqlite") as built:
        built.add([docs_dir])
        yield built


def _answer(index, question):
    hits = retrieve(index, question, k=3).hits
    return Answer(question=question, text=REFUSAL, refused=True, supported=False, hits=hits), [h.passage for h in hits]


def test_irrelevant_question_is_refused_before_any_generation(index):
    # model=None: generation would fail, so a refusal proves the threshold stopped it.
    answer = ask(None, index, question="What is the interest rate of the central bank?")
    assert answer.refused and answer.refusal_reason == "retrieval" and answer.text == REFUSAL
    assert answer.relevance < answer.min_relevance and not answer.citations


def test_checked_answer_keeps_good_citations_and_prints_sources(index):
    answer, passages = _answer(index, "When was the harbour lighthouse built?")
    number = next(i for i, p in enumerate(passages, 1) if "1887" in p.text)
    done = finish_answer(answer, f"The lighthouse was built in 1887 from granite blocks [{number}].", passages)
    assert not done.refused and done.supported
    assert [c.number for c in done.citations] == [number] and done.citations[0].by_model
    printed = done.format().splitlines()
    assert printed[0].endswith(f"[{number}].")
    assert printed[-1].startswith(f"[{number}] ") and "lighthouse.txt, lines" in printed[-1]


def test_made_up_citation_is_dropped_and_marked_unsupported(index):
    answer, passages = _answer(index, "When was the harbour lighthouse built?")
    done = finish_answer(answer, "The lighthouse was built in 1887 [9].", passages)
    assert not done.supported and done.dropped and not done.citations
    assert "(unsupported" in done.format()


def test_model_refusal_is_a_refusal(index):
    answer, passages = _answer(index, "When was the harbour lighthouse built?")
    assert finish_answer(answer, "The passages do not mention it.", passages).refusal_reason == "model"


def test_uncited_answer_is_credited_by_words_and_says_so(index):
    answer, passages = _answer(index, "When was the harbour lighthouse built?")
    done = finish_answer(answer, "It was built in 1887 from granite blocks.", passages)
    assert done.supported and done.citations and not done.citations[0].by_model
    assert "matched by words" in done.format()
    strict = finish_answer(_answer(index, "When was it built?")[0], "It was built in 1887 from granite blocks.",
                           passages, attribute=False)
    assert not strict.supported and not strict.citations


def test_prompt_puts_audio_passages_and_question_in_one_user_turn(index, speech_clip):
    passages = [h.passage for h in retrieve(index, "bakery hours", k=2).hits]
    spoken = build_messages("When does the bakery open?", passages, audio=speech_clip)
    assert [m["role"] for m in spoken] == ["user"]
    parts = spoken[0]["content"]
    assert parts[0] == {"type": "audio", "path": str(speech_clip)}
    text = parts[-1]["text"]
    assert text.index("Passage [1]:") < text.index("Passage [2]:") < text.index("Question: When does the bakery open?")
    cascade = build_messages("When does the bakery open?", passages)
    assert all(p["type"] == "text" for p in cascade[0]["content"])


def test_a_question_is_required(index):
    with pytest.raises(LlasoError, match="give the question"):
        ask(None, index, question="  ")


@pytest.mark.slow
def test_ask_with_the_real_tiny_model_spoken_and_cascade(tiny, index, speak):
    """The spoken question through Whisper, retrieval and llaso-tiny (audio in the turn), and
    the cascade on the same passages."""
    from llaso.inference.transcribe import WhisperTranscriber

    wav = speak("When does the bakery open?")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whisper = WhisperTranscriber.from_pretrained(device="cpu")
    spoken = tiny.ask(index, audio=wav, transcriber=whisper)
    assert "bakery" in spoken.question.lower()
    assert spoken.hits and "bakery" in spoken.hits[0].passage.path
    assert spoken.refused or spoken.raw.strip()
    assert spoken.pipeline == "lslm" and "generate" in spoken.seconds
    cascade = tiny.ask(index, audio=wav, transcriber=whisper, cascade=True)
    assert cascade.pipeline == "cascade" and [h.passage.id for h in cascade.hits] == [h.passage.id for h in spoken.hits]
    for answer in (spoken, cascade):  # whatever the model said, every citation printed was checked
        assert all(1 <= c.number <= len(answer.hits) for c in answer.citations)
        assert not answer.supported or answer.citations
