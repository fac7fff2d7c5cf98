"""Whisper tiny.en, converted from the CTranslate2 package, transcribing real synthesized speech."""

import re

import pytest

from llaso.inference.transcribe import WhisperTranscriber


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


@pytest.fixture(scope="module")
def transcriber():
    return WhisperTranscriber.from_pretrained(device="cpu")


def test_transcribes_espeak_speech(transcriber, speech_clip, speech_text):
    result = transcriber.transcribe([speech_clip])[0]
    assert result.error is None
    hyp, ref = words(result.text), words(speech_text)
    matched = sum(1 for w in hyp if w in ref)
    assert matched >= len(ref) - 2, result.text


def test_bad_file_is_reported_not_raised(transcriber, speech_clip, tmp_path):
    bad = tmp_path / "bad.flac"
    bad.write_text("nope")
    good, broken = transcriber.transcribe([speech_clip, bad])
    assert good.text and broken.text is None and "bad.flac" in broken.error
