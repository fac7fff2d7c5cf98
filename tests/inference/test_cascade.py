"""The cascade baseline `cascade:NAME`: the model's own Whisper turns each audio into text."""

from __future__ import annotations

import warnings

import pytest

from llaso.errors import LlasoError
from llaso.inference import cascade


def test_audio_parts_become_their_transcripts_in_order():
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Compare"}, {"type": "audio", "path": "a.wav"},
                                     {"type": "audio", "path": "b.wav"}]},
        {"role": "assistant", "content": "Done."},
        {"role": "user", "content": [{"type": "audio", "path": "c.wav"}]},
    ]
    heard = {"a.wav": "first words", "b.wav": "", "c.wav": "third"}
    out = cascade.audio_parts_as_text(messages, lambda refs: [heard[str(r.source)] for r in refs])
    assert out[1]["content"] == [{"type": "text", "text": "Compare"}, {"type": "text", "text": "first words"},
                                 {"type": "text", "text": cascade.NO_SPEECH}]
    assert out[3]["content"] == [{"type": "text", "text": "third"}]
    assert out[0] == messages[0] and out[2] == messages[2]
    assert messages[1]["content"][1] == {"type": "audio", "path": "a.wav"}  # the caller's list is untouched


def test_cascade_needs_a_model_built_on_a_named_whisper(tmp_path):
    assert cascade.is_cascade("cascade:llaso-tiny") and cascade.inner_name("cascade:llaso-tiny") == "llaso-tiny"
    with pytest.raises(LlasoError, match="named Whisper"):
        cascade.whisper_folder(str(tmp_path))


@pytest.mark.slow
def test_cascade_llaso_tiny_reads_the_words_not_the_audio(speech_clip):
    from llaso import Llaso

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Llaso.from_pretrained("cascade:llaso-tiny", device="cpu")
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is the speaker saying?"},
                                             {"type": "audio", "path": str(speech_clip)}]}]
    encoded = model.encode(messages)
    assert encoded.audio_features == []  # the LLM alone: text in place of the audio
    prompt = model.processor.tokenizer.decode(encoded.input_ids).lower()
    assert "quick brown fox" in prompt and "lazy dog" in prompt
    assert model.chat(messages, max_new_tokens=8).strip()
