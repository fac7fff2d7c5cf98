"""Transcript grounding with the real Whisper tiny.en and SmolLM2 parts: the clip's words go into
the prompt beside its audio tokens, from the one encoder pass the projector also reads."""

from __future__ import annotations

import re

import numpy as np
import pytest

from llaso.generation.grounding import ground_texts, is_grounded

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def grounded(whisper_tiny_dir, smollm2_dir):
    from llaso.checkpoints.compose import compose_from_base
    from llaso.inference.api import Llaso

    model, processor = compose_from_base(whisper_tiny_dir, smollm2_dir, stack_factor=8, transcript_grounding=True)
    return Llaso(model.eval(), processor)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def test_prompt_carries_the_clips_words_and_reuses_its_frames(grounded, speech_clip, speech_text):
    assert is_grounded(grounded.model)
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is the speaker saying?"},
                                             {"type": "audio", "path": str(speech_clip)}]}]
    calls = []
    encode_audio = grounded.model.encode_audio

    def counting(*args, **kwargs):
        calls.append(1)
        return encode_audio(*args, **kwargs)

    grounded.model.encode_audio = counting
    try:
        encoded = grounded.encode(messages)
    finally:
        del grounded.model.encode_audio
    prompt = grounded.processor.tokenizer.decode(encoded.input_ids)
    heard = re.search(r'\(transcript: "([^"]*)"\)', prompt)
    assert heard, prompt
    truth = set(_words(speech_text))
    assert len(set(_words(heard.group(1))) & truth) >= 0.6 * len(truth), heard.group(1)  # trimmed frames: "roundfox"
    assert len(calls) == 1 and encoded.encoder_outputs is not None  # the engine projects these frames
    assert prompt.index("What is the speaker saying?") < prompt.index("(transcript:")


def test_silence_gets_no_invented_words(grounded, tmp_path):
    import soundfile as sf

    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, np.random.default_rng(0).normal(0, 1e-4, 16_000 * 3).astype(np.float32), 16_000)
    messages = [{"role": "user", "content": [{"type": "audio", "path": str(quiet)}]}]
    encoded = grounded.processor.encode(messages, add_generation_prompt=True)
    assert encoded.window_speech == [False]
    assert ground_texts(grounded.model, grounded.processor, encoded) == [""]
    prompt = grounded.processor.tokenizer.decode(grounded.encode(messages).input_ids)
    assert grounded.processor.settings.no_speech_text in prompt


def test_grounding_survives_save_and_load(grounded, tmp_path):
    from llaso.inference.api import Llaso

    grounded.save_pretrained(tmp_path / "saved")
    again = Llaso.from_pretrained(tmp_path / "saved", device="cpu")
    assert is_grounded(again.model) and again.processor.transcript_tokenizer is not None
    assert again.processor.settings.transcript_template == grounded.processor.settings.transcript_template
