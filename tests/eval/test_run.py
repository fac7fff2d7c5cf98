"""Run mode end to end: a loopback endpoint, the real llaso-tiny, and resume after a kill."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from llaso.cli.main import main
from llaso.eval.run import JOURNAL_DIR, RunConfig, model_backend, run
from llaso.eval.score import ScoreOptions, score_path


def _run_args(server, data: Path, out: Path, *extra: str) -> list[str]:
    return ["eval", "run", "--endpoint", server.base_url, "--api-model", "listener", "--data", str(data),
            "--out", str(out), "--batch-size", "2", *extra]


def _journal_positions(out: Path) -> dict[str, list[int]]:
    return {
        p.stem: [json.loads(line)["position"] for line in p.read_text().splitlines() if line.endswith("}")]
        for p in sorted((out / JOURNAL_DIR).glob("*.jsonl"))
    }


def test_endpoint_run_writes_official_layout_and_scores(split_maker, loopback, listening, tmp_path: Path, capsys) -> None:
    server = loopback(listening)
    data = split_maker(tmp_path / "data")
    out = tmp_path / "out"
    assert main(_run_args(server, data, out, "--json")) == 0
    results = json.loads(capsys.readouterr().out)
    assert results == json.loads((out / "results.json").read_text())
    assert results["system"] == "listener"
    assert results["files"]["ASR_ta_test"]["metrics"]["wer"] == pytest.approx(1 / 32)
    sgc, pp = results["files"]["SGC_ta_test"]["metrics"], results["files"]["PP_ta_test"]["metrics"]
    assert (sgc["accuracy"], sgc["abstention_rate"]) == pytest.approx((5 / 6, 1 / 6))
    assert (pp["mae"], pp["parsed"]) == (0.0, 6)
    written = json.loads((out / "SGC_ta_test.json").read_text())
    original = json.loads((data / "SGC_ta_test.json").read_text())
    assert [r["answer"] for r in written][:2] == ["Male", "I am not sure."]
    assert [{k: v for k, v in r.items() if k != "answer"} for r in written] == original
    request = server.requests[0]
    assert request["temperature"] == 0.0 and request["seed"] == 0
    audio_part = next(p for p in request["messages"][0]["content"] if p["type"] == "input_audio")
    samples, rate = sf.read(__import__("io").BytesIO(base64.b64decode(audio_part["input_audio"]["data"])))
    assert rate == 16000 and len(samples) == 6400
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["identity"]["seed"] == 0 and run_json["last_invocation"]["generated"] == 18

    # Rerunning a finished run asks nothing and scores the same.
    asked = len(server.requests)
    assert main(_run_args(server, data, out, "--json")) == 0
    assert len(server.requests) == asked
    assert json.loads(capsys.readouterr().out)["files"] == results["files"]


def test_tasks_and_limit_select_samples(split_maker, loopback, listening, tmp_path: Path) -> None:
    server = loopback(listening)
    data = split_maker(tmp_path / "data")
    out = tmp_path / "out"
    assert main(_run_args(server, data, out, "--tasks", "PP", "--limit", "3")) == 0
    assert sorted(p.name for p in out.glob("*.json")) == ["PP_ta_test.json", "results.json", "run.json"]
    assert len(json.loads((out / "PP_ta_test.json").read_text())) == 3
    assert len(server.requests) == 3


def test_resume_after_kill_loses_and_repeats_nothing(split_maker, loopback, listening, tmp_path: Path) -> None:
    server = loopback(listening)
    data = split_maker(tmp_path / "data")

    reference = tmp_path / "uninterrupted"
    assert main(_run_args(server, data, reference)) == 0

    # The server answers 6 requests (3 batches of 2), then holds every further one: the run
    # is killed while it waits, as a kill in the middle of a long run would find it.
    server.hold_after = len(server.requests) + 6
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "llaso.cli.main", *_run_args(server, data, killed)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if (killed / JOURNAL_DIR).exists() and sum(map(len, _journal_positions(killed).values())) >= 6:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    server.hold_after = None
    server.release.set()
    done_before = sum(len(v) for v in _journal_positions(killed).values())
    assert done_before == 6
    assert not (killed / "results.json").exists()
    # A kill in the middle of a write leaves half a line; the resume must cope.
    journal = sorted((killed / JOURNAL_DIR).glob("*.jsonl"))[-1]
    with journal.open("a") as handle:
        handle.write('{"position": 99, "answ')

    asked = len(server.requests)
    assert main(_run_args(server, data, killed)) == 0
    assert len(server.requests) - asked == 18 - done_before  # only the missing samples asked

    for stem, positions in _journal_positions(killed).items():
        assert sorted(positions) == list(range(6)), stem  # none lost, none twice
    for name in ("ASR_ta_test.json", "SGC_ta_test.json", "PP_ta_test.json"):
        assert (killed / name).read_text() == (reference / name).read_text()
    ours, theirs = (json.loads((d / "results.json").read_text()) for d in (killed, reference))
    assert ours["files"] == theirs["files"] and ours["tasks"] == theirs["tasks"]


def test_resume_refuses_other_settings(split_maker, loopback, listening, tmp_path: Path, capsys) -> None:
    server = loopback(listening)
    data = split_maker(tmp_path / "data")
    out = tmp_path / "out"
    assert main(_run_args(server, data, out, "--limit", "1")) == 0
    capsys.readouterr()
    assert main(_run_args(server, data, out, "--seed", "3")) == 2
    assert "other settings (seed: 0 -> 3)" in capsys.readouterr().err


def test_bad_audio_fails_only_its_sample(split_maker, loopback, listening, tmp_path: Path) -> None:
    server = loopback(listening)
    data = split_maker(tmp_path / "data", per_file=2)
    (data / "audio" / "pp1.wav").write_bytes(b"not a wav file")
    out = tmp_path / "out"
    assert main(_run_args(server, data, out, "--tasks", "PP")) == 0
    written = json.loads((out / "PP_ta_test.json").read_text())
    assert written[0]["answer"] == "MIDI 50"
    assert "answer" not in written[1] and "pp1.wav" in written[1]["error"]  # a failure is not an empty answer
    results = json.loads((out / "results.json").read_text())
    assert results["files"]["PP_ta_test"]["invalid"] == 1
    assert "pp1.wav" in results["problems"][0]["reason"]


def test_run_needs_a_judge_for_open_ended_tasks_before_starting(loopback, listening, tmp_path: Path, capsys) -> None:
    server = loopback(listening)
    data = tmp_path / "data"
    data.mkdir()
    (data / "AQA_a_test.json").write_text(json.dumps([
        {"voice": ["q.wav"], "conversations": [{"from": "human", "value": "<audio>"}, {"from": "gpt", "value": "x"}]}]))
    assert main(_run_args(server, data, tmp_path / "out")) == 2
    assert "need an LLM judge" in capsys.readouterr().err
    assert server.requests == []


@pytest.mark.slow
def test_model_mode_with_real_llaso_tiny(split_maker, tiny, tmp_path: Path) -> None:
    data = split_maker(tmp_path / "data", per_file=2)
    out = tmp_path / "out"
    config = RunConfig(data=data, out=out, model="llaso-tiny", tasks=("SGC", "PP"), limit=1, batch_size=2,
                       max_new_tokens=6, progress=False)
    summary = run(config, backend=model_backend(config, model=tiny))
    assert (summary.samples, summary.generated, summary.failed) == (2, 2, 0)
    first = {name: (out / name).read_text() for name in ("SGC_ta_test.json", "PP_ta_test.json")}
    answers = [r["answer"] for name in first for r in json.loads(first[name])]
    assert all(isinstance(a, str) and a for a in answers)
    results = score_path(out, ScoreOptions(progress=False))
    assert results["files"]["SGC_ta_test"]["n"] == 1 and results["files"]["SGC_ta_test"]["invalid"] == 0
    assert results["files"]["PP_ta_test"]["metrics"]["parsed"] <= 1

    # Greedy decoding is deterministic: a fresh run gives the same answers.
    again = tmp_path / "again"
    run(RunConfig(**{**config.__dict__, "out": again}), backend=model_backend(config, model=tiny))
    assert {name: (again / name).read_text() for name in first} == first


@pytest.mark.slow
def test_endpoint_served_by_real_llaso_tiny(split_maker, tiny, loopback, tmp_path: Path) -> None:
    """An OpenAI-compatible server answering with llaso-tiny through the Python API."""

    def serve(body: dict) -> tuple[int, dict]:
        messages = []
        for message in body["messages"]:
            content = message["content"]
            if isinstance(content, list):
                content = [
                    {"type": "text", "text": p["text"]} if p["type"] == "text" else
                    {"type": "audio", "audio": base64.b64decode(p["input_audio"]["data"])}
                    for p in content
                ]
            messages.append({"role": message["role"], "content": content})
        text = tiny.chat(messages, max_new_tokens=body.get("max_tokens", 8), seed=body.get("seed"))
        return 200, {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                     "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": text}}]}

    server = loopback(serve)
    data = split_maker(tmp_path / "data", per_file=2)
    out = tmp_path / "out"
    code = main(["eval", "run", "--endpoint", server.base_url, "--api-model", "llaso-tiny", "--data", str(data),
                 "--out", str(out), "--tasks", "ASR", "--max-new-tokens", "6", "--batch-size", "1"])
    assert code == 0
    written = json.loads((out / "ASR_ta_test.json").read_text())
    assert all(isinstance(r["answer"], str) and r["answer"] for r in written)
    results = json.loads((out / "results.json").read_text())
    assert results["files"]["ASR_ta_test"]["metrics"]["wer"] is not None


def test_an_edited_sample_is_answered_again(split_maker, loopback, listening, tmp_path: Path) -> None:
    server = loopback(listening)
    data = split_maker(tmp_path / "data", per_file=3)
    out = tmp_path / "out"
    assert main(_run_args(server, data, out, "--tasks", "SGC")) == 0
    records = json.loads((data / "SGC_ta_test.json").read_text())
    records[2]["conversations"][0]["value"] = "Is this voice Male or Female? One word, gender only.<audio>"
    (data / "SGC_ta_test.json").write_text(json.dumps(records))
    asked = len(server.requests)
    assert main(_run_args(server, data, out, "--tasks", "SGC")) == 0
    assert len(server.requests) == asked + 1
    assert "One word" in server.requests[-1]["messages"][0]["content"][0]["text"]
    assert "One word" in json.loads((out / "SGC_ta_test.json").read_text())[2]["conversations"][0]["value"]
