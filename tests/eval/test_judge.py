"""The judge path against a real HTTP server on loopback, called with the real openai client."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from llaso.cli.main import main
from llaso.eval.judge import Judge, JudgeConfig, JudgeError, JudgeItem, load_rubric
from llaso.eval.score import ScoreOptions, score_path


def completion(text: str, model: str = "test") -> dict:
    return {"id": "x", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}]}


def grading_judge(body: dict) -> tuple[int, dict]:
    """Deterministic judge: 5 if the model answer repeats the reference, else 2."""
    prompt = body["messages"][-1]["content"]
    reference = re.search(r"Reference answer:\n(.*?)\n\nModel answer:", prompt, re.S).group(1).strip()
    answer = re.search(r"Model answer:\n(.*?)\n\nGrade", prompt, re.S).group(1).strip()
    score = 5 if answer.lower().strip(".") == reference.lower().strip(".") else 2
    return 200, completion(f"Score: {score}\nExplanation: compared with the reference.", body["model"])


def _open_ended_dir(root: Path) -> Path:
    root.mkdir()
    records = [
        {"voice": [f"q{i}.wav"], "conversations": [
            {"from": "human", "value": f"Question {i}?<audio>"}, {"from": "gpt", "value": f"Answer {i}."}],
         "answer": f"Answer {i}." if i % 2 == 0 else "Something else."}
        for i in range(6)
    ]
    (root / "dolly_input_1_test.json").write_text(json.dumps(records))
    intents = [
        {"voice": ["s.wav"], "conversations": [
            {"from": "human", "value": "Intent?<audio>"}, {"from": "gpt", "value": "Calendar set"}],
         "answer": "Calendar set"},
    ]
    (root / "slurp_Intent_Prediction_test.json").write_text(json.dumps(intents))
    return root


def _options(server, cache: Path, **overrides) -> ScoreOptions:
    config = JudgeConfig(base_url=server.base_url, model="judge-test", cache_path=cache, backoff_s=0.01,
                         **overrides)
    return ScoreOptions(judge=config, progress=False)


def test_judge_scores_then_serves_reruns_from_the_cache(loopback, tmp_path: Path) -> None:
    server = loopback(grading_judge)
    predictions = _open_ended_dir(tmp_path / "sys")
    cache = tmp_path / "cache.sqlite"
    first = score_path(predictions, _options(server, cache))
    assert len(server.requests) == 7
    assert first["files"]["dolly_input_1_test"]["metrics"] | {"exact_match": None} == {"exact_match": None, "judge_score": 3.5, "judged": 6}
    assert first["files"]["slurp_Intent_Prediction_test"]["metrics"]["judge_score"] == 5.0
    assert first["files"]["slurp_Intent_Prediction_test"]["metrics"]["accuracy"] == 1.0
    request = server.requests[0]
    assert request["model"] == "judge-test" and request["temperature"] == 0.0
    assert "Question" in request["messages"][0]["content"]

    second = score_path(predictions, _options(server, cache))
    assert len(server.requests) == 7  # nothing asked again
    assert second["files"] == first["files"]

    # A changed prediction is a new cache key: only that one is judged.
    records = json.loads((predictions / "dolly_input_1_test.json").read_text())
    records[1]["answer"] = "Answer 1."
    (predictions / "dolly_input_1_test.json").write_text(json.dumps(records))
    third = score_path(predictions, _options(server, cache))
    assert len(server.requests) == 8
    assert third["files"]["dolly_input_1_test"]["metrics"]["judge_score"] == pytest.approx(4.0)


def test_judge_retries_after_500_and_429(loopback, tmp_path: Path) -> None:
    server = loopback(grading_judge)
    server.fail_first = [500, 429, 503]
    config = JudgeConfig(base_url=server.base_url, model="judge-test", cache_path=tmp_path / "c.sqlite",
                         backoff_s=0.01, concurrency=1)
    sleeps: list[float] = []
    with Judge(config, sleep=sleeps.append) as judge:
        verdict = judge.verdict(JudgeItem("AQA", "Q?", "yes", "yes"))
        assert judge.stats.retries == 3
    assert verdict.startswith("Score: 5")
    assert len(server.requests) == 4
    assert sleeps == [0.01, 0.02, 0.04]  # exponential backoff


def test_judge_gives_up_with_a_clear_error(loopback, tmp_path: Path) -> None:
    server = loopback(grading_judge)
    server.fail_first = [500] * 10
    config = JudgeConfig(base_url=server.base_url, model="judge-test", cache_path=tmp_path / "c.sqlite",
                         max_retries=2, backoff_s=0.0)
    with Judge(config) as judge, pytest.raises(JudgeError, match="still failing after 2 retries"):
        judge.verdict(JudgeItem("AQA", "Q?", "yes", "yes"))
    server.fail_first = [401]
    with Judge(config) as judge, pytest.raises(JudgeError, match="HTTP 401"):
        judge.verdict(JudgeItem("AQA", "Q?", "yes", "yes"))


def test_unparseable_verdict_is_retried_once_then_left_unjudged(loopback, tmp_path: Path) -> None:
    server = loopback(lambda body: (200, completion("I would rather not grade this.")))
    predictions = _open_ended_dir(tmp_path / "sys")
    results = score_path(predictions, _options(server, tmp_path / "c.sqlite", concurrency=1))
    assert results["files"]["dolly_input_1_test"]["metrics"] | {"exact_match": None} == {"exact_match": None, "judge_score": None, "judged": 0}
    assert len(server.requests) == 14  # two tries for each of the 7 answers


def test_cli_judge_options_and_missing_judge(loopback, tmp_path: Path, capsys, monkeypatch) -> None:
    server = loopback(grading_judge)
    predictions = _open_ended_dir(tmp_path / "sys")
    assert main(["eval", "score", str(predictions)]) == 2
    assert "need an LLM judge" in capsys.readouterr().err
    assert main(["eval", "score", str(predictions), "--judge-model", "x"]) == 2
    assert "both --judge-base-url and --judge-model" in capsys.readouterr().err
    monkeypatch.setenv("MY_JUDGE_KEY", "sk-test")
    code = main(["eval", "score", str(predictions), "--judge-base-url", server.base_url, "--judge-model", "j",
                 "--judge-api-key-env", "MY_JUDGE_KEY", "--judge-cache", str(tmp_path / "c.sqlite"), "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["tasks"]["AQA"]["value"] == 3.5


def test_rubric_is_stored_in_the_package() -> None:
    rubric = load_rubric()
    for field in ("{question}", "{reference}", "{prediction}", "Score:"):
        assert field in rubric


def _spaced_answers_dir(root: Path) -> Path:
    """Answers with whitespace around them, as models often print."""
    root.mkdir()
    answers = [" Answer 0.", "Answer 1.\n\n", "\tSomething else. "]
    records = [
        {"voice": [f"q{i}.wav"], "conversations": [
            {"from": "human", "value": f"Question {i}?<audio>"}, {"from": "gpt", "value": f"Answer {i}."}],
         "answer": answer}
        for i, answer in enumerate(answers)
    ]
    (root / "dolly_input_1_test.json").write_text(json.dumps(records))
    return root


def test_an_answer_with_surrounding_whitespace_finds_its_official_verdict(tmp_path: Path) -> None:
    predictions = _spaced_answers_dir(tmp_path / "sys")
    (predictions / "gpt_result").mkdir()
    # The official judge script stores each prediction stripped.
    verdicts = [(0, "Answer 0.", 5), (1, "Answer 1.", 4), (2, "Something else.", 1)]
    (predictions / "gpt_result" / "dolly_input_1_test.jsonl").write_text("".join(
        json.dumps({"file": "dolly_input_1_test.json", "index": i, "predicted": p, "reference": f"Answer {i}.",
                    "evaluation": f"Score: {n}\nExplanation: -"}) + "\n" for i, p, n in verdicts))
    # No judge is configured: every answer must find its verdict, or this raises.
    results = score_path(predictions, ScoreOptions(progress=False))
    metrics = results["files"]["dolly_input_1_test"]["metrics"]
    assert (metrics["judged"], metrics["judge_score"]) == (3, pytest.approx(10 / 3))


def test_the_judge_is_shown_and_stores_answers_stripped(loopback, tmp_path: Path) -> None:
    server = loopback(grading_judge)
    predictions = _spaced_answers_dir(tmp_path / "sys")
    options = _options(server, tmp_path / "c.sqlite")
    out = tmp_path / "out"
    results = score_path(predictions, ScoreOptions(judge=options.judge, progress=False, write_verdicts_to=out))
    assert results["files"]["dolly_input_1_test"]["metrics"]["judge_score"] == pytest.approx(4.0)
    shown = sorted(re.search(r"Model answer:\n(.*?)\n\nGrade", r["messages"][-1]["content"], re.S).group(1)
                   for r in server.requests)
    assert shown == ["Answer 0.", "Answer 1.", "Something else."]
    written = [json.loads(line) for line in (out / "gpt_result" / "dolly_input_1_test.jsonl").read_text().splitlines()]
    assert [w["predicted"] for w in written] == ["Answer 0.", "Answer 1.", "Something else."]
    # The written verdicts serve a rerun without a judge.
    again = score_path(predictions, ScoreOptions(progress=False, verdict_dir=out / "gpt_result"))
    assert again["files"]["dolly_input_1_test"]["metrics"]["judged"] == 3
