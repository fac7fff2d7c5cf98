"""Clips without speech pair with an honest reply; the voice detector agrees they hold none."""

import json

import numpy as np
import soundfile as sf

from llaso.data.no_speech import REPLY, no_speech_samples


def test_no_speech_samples_write_quiet_clips_with_the_honest_reply(tmp_path):
    from llaso.audio.vad import SileroVad, speech_seconds

    samples = no_speech_samples(12, tmp_path / "audio", tmp_path, seed=5)
    again = no_speech_samples(12, tmp_path / "again", tmp_path, seed=5)
    assert [s["meta"] for s in again] == [s["meta"] for s in samples]  # one seed, one corpus
    assert len({s["id"] for s in samples}) == 12
    vad = SileroVad()
    for sample in samples:
        assert sample["conversations"][-1]["value"] == REPLY and sample["layout"] == "t,a"
        assert "<audio>" in sample["conversations"][0]["value"]
        clip, rate = sf.read(tmp_path / sample["voice"][0], dtype="float32")
        assert rate == 16_000 and np.abs(clip).max() < 0.2
        assert speech_seconds(clip, vad) < 0.15, sample["meta"]["clip"]
    json.dumps(samples)  # a plain LLaSO record
    assert len({s["meta"]["clip"] for s in samples}) >= 3
