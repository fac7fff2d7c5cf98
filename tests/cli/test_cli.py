"""The `llaso` command end to end, as a user runs it: real processes, real model."""

import json
import os
import subprocess
import sys

import pytest

LLASO = [sys.executable, "-m", "llaso.cli.main"]


def llaso(*args, stdin: str | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(LLASO + list(args), input=stdin, capture_output=True, text=True, timeout=timeout, env=env)


def test_help_lists_the_commands():
    out = llaso("--help")
    assert out.returncode == 0
    for command in ("chat", "transcribe", "run", "models", "demo"):
        assert command in out.stdout


def test_chat_one_shot_with_audio(speech_clip):
    out = llaso("chat", "--audio", str(speech_clip), "What is the speaker saying?", "--max-new-tokens", "8")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()


def test_chat_interactive_multi_turn(speech_clip, tmp_path):
    script = f"/audio {speech_clip}\nWhat is said?\nAnd what is the capital of France?\n/reset\n/exit\n"
    out = llaso("chat", "--max-new-tokens", "16", stdin=script)
    assert out.returncode == 0, out.stderr
    assert "attached" in out.stdout and "conversation reset" in out.stdout
    assert "Paris" in out.stdout


def test_chat_bad_audio_is_one_line_error(tmp_path):
    out = llaso("chat", "--audio", str(tmp_path / "missing.wav"), "hi")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "missing.wav: file not found" in out.stderr
    assert "Traceback" not in out.stderr


def test_transcribe_prints_one_line_per_file(speech_clip, tmp_path):
    out = llaso("transcribe", str(speech_clip), str(speech_clip))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2 and "fox" in lines[0].lower()
    out = llaso("transcribe", "--json", str(speech_clip), str(tmp_path / "nope.wav"))
    assert out.returncode == 1
    records = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert records[0]["rtf"] > 0 and records[1]["error"].endswith("file not found")


def test_run_writes_answers_atomically_and_resumes(speech_clip, tmp_path):
    samples = [
        {"id": f"s{i}", "conversations": [{"from": "human", "value": "<audio>\nTranscribe the audio."},
                                          {"from": "gpt", "value": "the quick brown fox"}],
         "voice": [str(speech_clip)]}
        for i in range(3)
    ] + [{"id": "bad", "conversations": [{"from": "human", "value": "<audio>\nTranscribe."},
                                         {"from": "gpt", "value": "x"}], "voice": ["missing.wav"]}]
    source = tmp_path / "samples.json"
    source.write_text(json.dumps(samples))
    output = tmp_path / "predictions.json"
    out = llaso("run", "--input", str(source), "--output", str(output), "--max-new-tokens", "6", "--limit", "2")
    assert out.returncode == 0, out.stderr
    first = json.loads(output.read_text())
    assert [s["id"] for s in first] == ["s0", "s1"] and all(s["answer"] for s in first)
    out = llaso("run", "--input", str(source), "--output", str(output), "--max-new-tokens", "6")
    assert out.returncode == 1  # the bad sample failed, the rest are answered
    assert "2 already done" in out.stderr
    final = json.loads(output.read_text())
    assert [s["id"] for s in final] == ["s0", "s1", "s2", "bad"]
    assert final[0]["answer"] == first[0]["answer"] == final[2]["answer"]
    assert "missing.wav" in final[3]["error"] and "answer" not in final[3]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_run_missing_input_is_a_clear_error(tmp_path):
    out = llaso("run", "--input", str(tmp_path / "none.json"), "--output", str(tmp_path / "o.json"))
    assert out.returncode == 2 and "no such file" in out.stderr and "Traceback" not in out.stderr


def test_models_lists_llaso_tiny():
    out = llaso("models")
    assert out.returncode == 0 and "llaso-tiny" in out.stdout


@pytest.mark.parametrize("args", [["--model", "no-such-model", "hi"]])
def test_unknown_model(args):
    out = llaso("chat", *args)
    assert out.returncode == 2 and "no model 'no-such-model'" in out.stderr
