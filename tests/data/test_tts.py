"""The TTS backends (real engines) and the voice catalogue."""

from __future__ import annotations

import numpy as np
import pytest

from llaso.data.tts import TTSError, get_backend, register_backend, voice_catalogue
from llaso.data.tts.base import Synthesis, Voice
from llaso.data.tts.espeak import espeak_ipa
from llaso.data.tts.registry import BackendSet

VOICES = {v.id: v for v in voice_catalogue()}


@pytest.mark.parametrize("voice_id", ["espeak-ng:en-gb-scotland+f2", "flite:slt",
                                      "festival:cmu_us_slt_arctic_hts", "piper:joe"])
def test_engines_speak_and_rate_changes_length(voice_id):
    voice = VOICES[voice_id]
    backend = get_backend(voice.engine)
    normal = backend.synthesize("The weather is lovely today.", voice)
    fast = backend.synthesize("The weather is lovely today.", voice, rate=1.6)
    assert normal.samples.dtype == np.float32 and normal.sampling_rate >= 8000
    seconds = normal.samples.size / normal.sampling_rate
    assert 0.8 < seconds < 4.0
    assert np.abs(normal.samples).max() > 0.05
    assert fast.samples.size / fast.sampling_rate < 0.85 * seconds


def test_espeak_ipa_and_piper_phonemes_agree_on_plain_words():
    assert espeak_ipa("the cat sat", "en-us") == "ðə kæt sæt"
    assert get_backend("piper").phonemes("The cat, sat!") == "ðə kæt sæt"


def test_catalogue_voices_and_labels():
    assert len(VOICES) >= 10
    engines = {v.engine for v in VOICES.values()}
    assert engines == {"espeak-ng", "flite", "festival", "piper"}
    for split in ("train", "test"):
        pool = [v for v in VOICES.values() if v.split == split and v.style == "Normal"]
        assert {v.gender for v in pool} == {"Male", "Female"}
        assert {v.accent for v in pool} == {"American", "British", "Scottish", "Caribbean"}
    train_speakers = {v.speaker for v in VOICES.values() if v.split == "train"}
    test_speakers = {v.speaker for v in VOICES.values() if v.split == "test"}
    assert not train_speakers & test_speakers


def test_unknown_engine_and_custom_backend():
    backends = BackendSet()
    with pytest.raises(TTSError, match="unknown TTS engine 'nope'"):
        backends.get("nope")

    class Beep:
        name = "beep"

        def available(self):
            return True

        def synthesize(self, text, voice, rate=1.0):
            return Synthesis(np.ones(1600, np.float32) * 0.1, 16000)

    backends.register("beep", Beep)
    voice = Voice("beep:1", "beep", "1", "Male", "American", "beep")
    assert backends.get("beep").synthesize("x", voice).samples.size == 1600
    register_backend("beep", Beep)
    assert get_backend("beep").name == "beep"


def test_engine_failure_is_a_clear_error():
    voice = Voice("flite:nosuch", "flite", "nosuchvoice", "Male", "American", "x")
    with pytest.raises(TTSError, match="flite"):
        get_backend("flite").synthesize("hello", voice)
