"""Sample files and the one sample <-> chat messages mapping."""

from __future__ import annotations

import json
import os

import pytest

from llaso.data.schema import (
    iter_samples,
    messages_to_sample,
    resolve_audio_path,
    sample_to_messages,
    write_samples,
)
from llaso.errors import LlasoError, PlaceholderMismatchError


def test_fixture_samples_to_messages(data_fixtures):
    samples = list(iter_samples(data_fixtures / "good.json"))
    assert len(samples) == 5
    messages = sample_to_messages(samples[1], data_fixtures)  # Windows separator in voice
    assert messages[0]["role"] == "user"
    text, audio = messages[0]["content"]
    assert text == {"type": "text", "text": "Which command is spoken? Return only the command word."}
    assert audio["type"] == "audio" and os.path.isfile(audio["path"])
    assert audio["path"] == str(data_fixtures / "audio" / "yes.wav")
    assert messages[1] == {"role": "assistant", "content": "Yes"}
    sv = sample_to_messages(samples[2], data_fixtures)
    assert [m["role"] for m in sv] == ["system", "user", "assistant"]
    assert [p["path"].rsplit("/", 1)[-1] for p in sv[1]["content"] if p["type"] == "audio"] == [
        "yes.wav", "cat_sat.wav"]


def test_round_trip_messages_sample(data_fixtures):
    for sample in iter_samples(data_fixtures / "good.json"):
        messages = sample_to_messages(sample, data_fixtures)
        back = messages_to_sample(messages, audio_root=data_fixtures,
                                  extra={"id": sample["id"]})
        assert back["conversations"] == sample["conversations"]
        assert back["voice"] == [p.replace("\\", "/") for p in sample["voice"]]


def test_placeholder_mismatch_names_the_sample():
    sample = {"id": "x7", "conversations": [{"from": "human", "value": "<audio><audio>"},
                                            {"from": "gpt", "value": "y"}], "voice": ["a.wav"]}
    with pytest.raises(PlaceholderMismatchError, match="x7.*2 '<audio>'.*1 audio"):
        sample_to_messages(sample, None)


def test_in_memory_audio_cannot_become_a_sample():
    import numpy as np

    with pytest.raises(LlasoError, match="no path"):
        messages_to_sample([{"role": "user", "content": [
            {"type": "audio", "audio": np.zeros(10), "sampling_rate": 16000}]}])


def test_windows_and_absolute_paths():
    assert resolve_audio_path("data\\clips\\a.wav", "/root") == "/root/data/clips/a.wav"
    assert resolve_audio_path("/abs/a.wav", "/root") == "/abs/a.wav"
    assert resolve_audio_path("a.wav", None) == "a.wav"


@pytest.mark.parametrize("name", ["out.json", "out.jsonl"])
def test_write_then_stream_back(tmp_path, name):
    samples = [{"id": i, "conversations": [{"from": "human", "value": "ü<audio>"},
                                           {"from": "gpt", "value": str(i)}], "voice": ["a.wav"]}
               for i in range(25)]
    path = tmp_path / name
    assert write_samples(path, iter(samples)) == 25
    assert list(iter_samples(path)) == samples
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temp file left
    if name.endswith(".json"):
        assert json.loads(path.read_text()) == samples


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.json"
    write_samples(path, [{"id": 1}])

    def broken():
        yield {"id": 2}
        raise RuntimeError("generator failed")

    with pytest.raises(RuntimeError):
        write_samples(path, broken())
    assert json.loads(path.read_text()) == [{"id": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_iter_samples_stops_at_broken_record_with_location(data_fixtures):
    with pytest.raises(LlasoError, match=r"bad.json: record 1 \(line 3\)"):
        list(iter_samples(data_fixtures / "bad.json"))


def test_official_files_read_through_the_schema(official_dir):
    from llaso.data.file_names import task_layout_from_name

    total = 0
    tasks = set()
    for path in sorted(official_dir.glob("*.json")):
        samples = list(iter_samples(path))
        task, layout = task_layout_from_name(path)
        assert task is not None, path.name
        tasks.add(task)
        for sample in samples:
            messages = sample_to_messages(sample, official_dir)
            audio = [p for m in messages if isinstance(m["content"], list)
                     for p in m["content"] if p["type"] == "audio"]
            assert len(audio) == len(sample["voice"])
            assert all("\\" not in p["path"] for p in audio)
        total += len(samples)
    assert total == 10_605
    assert len(tasks) == 20
