"""The LSLM on audio over its window budget: map-reduce with the real llaso-tiny."""

import numpy as np
import pytest
import soundfile as sf

from llaso.errors import AudioError, LlasoError
from llaso.generation.sampling import SamplingParams
from llaso.inference.longform import (
    PartAnswer,
    _groups,
    answer_long,
    check_long_audio,
    choose_combine,
    prepare,
    reduce_prompt,
)


def test_combine_choice_and_grouping():
    assert choose_combine("Please transcribe the audio.", "auto") == "join"
    assert choose_combine("What is the mood of the speaker?", "auto") == "model"
    assert choose_combine("Transcribe it", "model") == "model"
    with pytest.raises(LlasoError):
        choose_combine("x", "vote")
    with pytest.raises(LlasoError, match="map_reduce"):
        check_long_audio("split")
    parts = [PartAnswer(i * 30.0, i * 30.0 + 30, "word " * 40) for i in range(10)]
    groups = _groups(parts, 100)
    assert [p for g in groups for p in g] == parts and all(len(g) == 2 for g in groups)
    prompt = reduce_prompt("Who speaks?", parts[:2])[0]["content"]
    assert "Question: Who speaks?" in prompt and "[00:30-01:00]" in prompt


@pytest.fixture(scope="module")
def long_speech(tmp_path_factory, speech_clip):
    """About 150 s: the fixture sentence 34 times with pauses (over llaso-tiny's 120 s budget)."""
    from llaso.audio import load_audio

    speech = load_audio(speech_clip)
    rng = np.random.default_rng(3)
    parts = []
    for _ in range(34):
        parts += [speech, np.zeros(int(rng.uniform(0.8, 3.0) * 16000), np.float32)]
    audio = np.concatenate(parts)
    path = tmp_path_factory.mktemp("longform") / "long.wav"
    sf.write(path, audio, 16000)
    return path, len(audio) / 16000


def ask(path, text):
    return [{"role": "user", "content": [{"type": "audio", "path": str(path)}, {"type": "text", "text": text}]}]


@pytest.mark.slow
def test_error_mode_refuses_and_map_reduce_answers(tiny, long_speech):
    path, seconds = long_speech
    assert seconds > tiny.audio_budget_seconds == 120.0
    with pytest.raises(AudioError, match="limit is 120 s"):
        tiny.chat(ask(path, "Transcribe the audio."))
    answer = answer_long(tiny, ask(path, "Transcribe the audio."), SamplingParams(max_new_tokens=48))
    assert answer.strategy == "map_reduce" and answer.combine == "join" and answer.audio_seconds == pytest.approx(seconds)
    assert len(answer.parts) >= 5
    for a, b in zip(answer.parts, answer.parts[1:]):
        assert a.end <= b.start and a.end - a.start <= 30.0 + 1e-6
    assert answer.parts[0].start < 1.0 and answer.parts[-1].end > seconds - 4.0
    assert answer.text == " ".join(p.text for p in answer.parts if p.text)


@pytest.mark.slow
def test_model_combines_the_part_answers(tiny, long_speech):
    path, _ = long_speech
    params = SamplingParams(max_new_tokens=24)
    answer, final = prepare(tiny, ask(path, "What is the gender of the speaker? Answer male or female."), params)
    assert answer.combine == "model" and final is not None
    prompt = final[0]["content"]
    assert all(p.text in prompt for p in answer.parts)
    assert tiny.chat(final, params).strip()  # the reduce step is a text-only turn
    streamed = "".join(tiny.stream_chat(ask(path, "Is the speaker male or female?"), params, long_audio="map_reduce"))
    assert streamed.strip()


@pytest.mark.slow
def test_audio_within_budget_is_answered_directly(tiny, speech_clip):
    messages = ask(speech_clip, "Transcribe the audio.")
    params = SamplingParams(max_new_tokens=24)
    assert tiny.chat(messages, params, long_audio="map_reduce") == tiny.chat(messages, params)
    assert tiny.generate("Transcribe the audio.", str(speech_clip), params, long_audio="map_reduce")
