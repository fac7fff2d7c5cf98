"""Layout conversion of text-only samples through a real TTS engine."""

from __future__ import annotations

import json

import pytest

from llaso.cli.main import main
from llaso.data.layout_convert import convert_sample, make_speaker, text_query
from llaso.data.schema import iter_samples, sample_to_messages
from llaso.data.validate import validate_path
from llaso.errors import LlasoError

ALPACA = {"id": "a1", "instruction": "Add the two numbers.", "input": "seven and five",
          "output": "12"}
LLASO_TEXT = {"id": "t1", "conversations": [
    {"from": "human", "value": "Name the capital of this country.\n\nFrance"},
    {"from": "gpt", "value": "Paris"}]}


def test_text_query_from_both_formats():
    assert text_query(ALPACA).input == "seven and five"
    query = text_query(LLASO_TEXT)
    assert (query.instruction, query.input, query.output) == (
        "Name the capital of this country.", "France", "Paris")
    with pytest.raises(LlasoError, match="already has audio"):
        text_query({"conversations": [{"from": "human", "value": "x<audio>"},
                                      {"from": "gpt", "value": "y"}], "voice": ["a.wav"]})


@pytest.mark.parametrize("layout,human", [
    ("t,a", "Add the two numbers.<audio>"),
    ("a,t", "<audio>\nseven and five"),
    ("a", "Listen to the audio and respond accordingly.<audio>"),
])
def test_convert_each_layout(tmp_path, layout, human):
    speak = make_speaker("espeak-ng", "en-us+f2")
    sample = convert_sample(ALPACA, layout, speak, audio_dir=tmp_path / "audio",
                            json_dir=tmp_path, name="a1")
    assert sample["layout"] == layout and sample["id"] == "a1"
    assert sample["conversations"] == [{"from": "human", "value": human},
                                       {"from": "gpt", "value": "12"}]
    assert sample["voice"] == ["audio/a1.wav"]
    assert sample["tts"]["voice"] == "espeak-ng:en-us+f2"
    (tmp_path / "out.json").write_text(json.dumps([sample]))
    assert validate_path(tmp_path / "out.json").ok
    parts = sample_to_messages(sample, tmp_path)[0]["content"]
    assert any(p["type"] == "audio" for p in parts)


def test_no_input_for_text_instruction_layout(tmp_path):
    speak = make_speaker("espeak-ng", "en-us")
    with pytest.raises(LlasoError, match="no input"):
        convert_sample({"instruction": "Tell a joke.", "output": "..."}, "t,a", speak,
                       audio_dir=tmp_path, json_dir=tmp_path, name="x")


def test_cli_convert_layout(tmp_path):
    source = tmp_path / "text.jsonl"
    source.write_text(json.dumps(ALPACA) + "\n" + json.dumps(LLASO_TEXT) + "\n")
    out = tmp_path / "spoken" / "aqa_at.json"
    assert main(["data", "convert-layout", str(source), str(out), "--layout", "a,t",
                 "--engine", "flite", "--voice", "slt", "--augment"]) == 0
    samples = list(iter_samples(out))
    assert [s["conversations"][0]["value"] for s in samples] == [
        "<audio>\nseven and five", "<audio>\nFrance"]
    assert validate_path(out).ok
