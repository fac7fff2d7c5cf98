"""The evaluation set builder: audio and labels agree."""

import json

import numpy as np
import soundfile as sf

from llaso.features.meeting.scripted import load_meeting, rttm


def test_audio_labels_and_rttm_agree(short_meeting):
    path, labels = short_meeting
    info = sf.info(path)
    assert info.samplerate == 16000 and abs(info.duration - labels.duration) < 0.01
    assert len(set(labels.participants.values())) == len(labels.participants) == 2
    assert labels.action_items and labels.decisions
    for item in labels.action_items:  # each label points at the turn that says it, at that turn's time
        turn = labels.turns[item.turn]
        assert item.what in turn.text and item.at == turn.start
        assert item.who in labels.participants
    starts = [t.start for t in labels.turns]
    assert all(0 <= t.start < t.end <= labels.duration for t in labels.turns)
    assert starts == sorted(starts)  # an overlapping turn still starts after the one it talks over
    lines = path.with_suffix(".rttm").read_text().splitlines()
    assert len(lines) == len(labels.turns) and lines[0].split()[7] == labels.turns[0].speaker
    assert load_meeting(path).to_dict() == json.loads(path.with_suffix(".json").read_text())
    assert rttm(labels) == path.with_suffix(".rttm").read_text()


def test_turns_are_where_the_speech_is(short_meeting):
    path, labels = short_meeting
    audio, rate = sf.read(path, dtype="float32")
    for turn in labels.turns:
        inside = audio[int(turn.start * rate) : int(turn.end * rate)]
        assert np.sqrt(np.mean(inside**2)) > 0.02
    gaps = [(a.end, b.start) for a, b in zip(labels.turns, labels.turns[1:]) if b.start - a.end > 0.5]
    quiet = [np.sqrt(np.mean(audio[int((s + 0.1) * rate) : int((e - 0.1) * rate)] ** 2)) for s, e in gaps]
    assert gaps and max(quiet) < 0.02  # pauses hold only the background noise
