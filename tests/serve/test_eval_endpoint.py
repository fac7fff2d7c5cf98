"""`llaso eval run --endpoint` against `llaso serve` gives the in-process run's greedy answers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from llaso.cli.main import main
from llaso.eval.run import RunConfig, model_backend, run
from llaso.serve.settings import build_settings

pytestmark = pytest.mark.slow

MAX_NEW_TOKENS = 16


@pytest.fixture(scope="module")
def split(fixtures_dir: Path, tmp_path_factory) -> Path:
    """llaso-mini-format test files made from the committed fixtures: ASR, SV and PP samples."""
    root = tmp_path_factory.mktemp("split")
    shutil.copytree(fixtures_dir / "data" / "audio", root / "audio")
    shutil.copy(fixtures_dir / "audio" / "hello_espeak.wav", root / "audio" / "hello.wav")
    records = [json.loads(line.rstrip(",")) for line in (fixtures_dir / "data" / "good.json").read_text().splitlines()
               if line.startswith("{")]
    by_task: dict[str, list] = {}
    for record in records:
        if record["task"] in ("ASR", "SV", "PP"):
            by_task.setdefault(record["task"], []).append(record)
    for i, (clip, prompt) in enumerate([("audio/hello.wav", "Transcribe the audio."),
                                        ("audio\\yes.wav", "Write down what is said.<audio>"),
                                        ("audio/cat_sat.wav", "<audio>\nWhat does the speaker say?")]):
        value = prompt if "<audio>" in prompt else f"<audio>\n{prompt}"
        by_task["ASR"].append({"id": f"extra{i}", "task": "ASR", "voice": [clip], "conversations": [
            {"from": "human", "value": value}, {"from": "gpt", "value": "hello"}]})
    for task, items in by_task.items():
        (root / f"{task}_ta_test.json").write_text(json.dumps(items, indent=1))
    return root


@pytest.fixture(scope="module")
def in_process(tiny, split: Path, tmp_path_factory) -> dict[str, list[str]]:
    """The reference: the same files answered by the session's model in this process (before the
    module's server exists, so one thread owns the model at a time)."""
    out = tmp_path_factory.mktemp("in-process")
    config = RunConfig(data=split, out=out, model="llaso-tiny", max_new_tokens=MAX_NEW_TOKENS, progress=False)
    run(config, model_backend(config, model=tiny))
    return _answers(out)


def _answers(out: Path) -> dict[str, list[str]]:
    return {p.stem: [r["answer"] for r in json.loads(p.read_text())] for p in sorted(out.glob("*_test.json"))}


def test_endpoint_run_matches_in_process(in_process, thread_server, split: Path, tmp_path: Path, monkeypatch) -> None:
    server = thread_server(build_settings(api_keys=["eval-key"], max_batch_size=8))
    monkeypatch.setenv("LLASO_API_KEY", "eval-key")
    out = tmp_path / "endpoint"
    code = main(["eval", "run", "--endpoint", server.url + "/v1", "--api-model", "llaso-tiny", "--data", str(split),
                 "--out", str(out), "--max-new-tokens", str(MAX_NEW_TOKENS), "--no-score"])
    assert code == 0
    answers = _answers(out)
    assert sum(len(v) for v in answers.values()) == 6 and set(answers) == {"ASR_ta_test", "SV_ta_test", "PP_ta_test"}
    assert answers == in_process
    assert all(a for v in answers.values() for a in v)
