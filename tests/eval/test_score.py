"""Score mode on damaged and differently keyed prediction files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from llaso.cli.main import main
from llaso.eval.records import read_prediction_file
from llaso.eval.score import ScoreOptions, score_path
from llaso.eval.stems import spec_for


def _record(reference: str, prediction: str | None, key: str = "answer", **extra) -> dict:
    record = {"voice": ["a\\b.wav"], "conversations": [
        {"from": "human", "value": "Gender? Male or Female.<audio>"}, {"from": "gpt", "value": reference}]}
    if prediction is not None:
        record[key] = prediction
    record.update(extra)
    return record


def _gender_records(key: str = "answer") -> list[dict]:
    return [_record(r, p, key) for r, p in
            [("Male.", "Male."), ("Female.", "female"), ("Male.", "Female."), ("Female.", "Female.")]]


def test_truncated_array_keeps_good_records_and_counts_the_rest(tmp_path: Path) -> None:
    lines = json.dumps(_gender_records(), indent=2).splitlines()
    text = "\n".join(lines)
    cut = text.rfind('"Female."')  # chop the last record mid-way, as a crashed writer leaves it
    (tmp_path / "vctk_gender_classification_test.json").write_text(text[:cut])
    loaded = read_prediction_file(tmp_path / "vctk_gender_classification_test.json")
    assert len(loaded.records) == 3
    assert len(loaded.problems) == 1 and "unparseable" in loaded.problems[0].reason
    results = score_path(tmp_path, ScoreOptions(progress=False))
    info = results["files"]["vctk_gender_classification_test"]
    assert (info["n"], info["invalid"]) == (4, 1)
    assert info["metrics"]["accuracy"] == pytest.approx(2 / 3)
    assert results["problems_total"] == 1


def test_json_lines_with_stray_lines_and_missing_predictions(tmp_path: Path) -> None:
    records = _gender_records("prediction")
    records[1].pop("prediction")
    body = [json.dumps(r) for r in records]
    body.insert(2, "this line is not JSON")
    body.insert(3, '"a string record"')
    (tmp_path / "common-voice_gender_classification_test.jsonl").write_text("\n".join(body) + "\n")
    results = score_path(tmp_path, ScoreOptions(progress=False))
    info = results["files"]["common-voice_gender_classification_test"]
    assert results["prediction_key"] == "prediction"
    assert info["invalid"] == 3  # the stray line, the string record, the record without prediction
    assert info["metrics"]["accuracy"] == pytest.approx(2 / 3)
    reasons = " | ".join(p["reason"] for p in results["problems"])
    assert "unparseable" in reasons and "not an object" in reasons and "no 'prediction' key" in reasons


def test_prediction_key_given_or_detected(tmp_path: Path) -> None:
    (tmp_path / "vctk_gender_classification_test.json").write_text(json.dumps(_gender_records("result")))
    assert score_path(tmp_path, ScoreOptions(progress=False))["prediction_key"] == "result"
    forced = score_path(tmp_path, ScoreOptions(prediction_key="answer", progress=False))
    assert forced["files"]["vctk_gender_classification_test"]["invalid"] == 4
    assert forced["files"]["vctk_gender_classification_test"]["metrics"]["accuracy"] is None


def test_task_field_wins_over_the_file_name(tmp_path: Path) -> None:
    records = [_record("60", "61", task="PP"), _record("50", "about 47", task="PP")]
    (tmp_path / "my_numbers.json").write_text(json.dumps(records))
    (tmp_path / "notes.json").write_text(json.dumps([{"no": "task"}]))
    results = score_path(tmp_path, ScoreOptions(progress=False))
    assert results["files"]["my_numbers"]["task"] == "PP"
    assert results["files"]["my_numbers"]["metrics"] == {"mae": 2.0, "parsed": 2, "mae_corrected": 2.0}
    assert results["overall"]["skipped_files"] == ["notes.json"]


def test_file_stems_of_llaso_mini_and_official() -> None:
    assert spec_for("ASR_ta_test").task == "ASR"
    assert spec_for("AQA_at_test").layout == "a,t"
    assert spec_for("AQA_a_test").layout == "a"
    assert spec_for("vocalsound_age_prediction_test").metrics == ("mae", "parsed")
    assert spec_for("dolly_instruction_0_test").layout == "a,t"
    assert spec_for("whatever") is None
    with pytest.raises(ValueError, match="unknown task"):
        spec_for("x", task="NOPE")


def test_cli_json_equals_results_json(official_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    predictions = tmp_path / "LLaSO-Base"
    predictions.mkdir()
    for stem in ("vctk_gender_classification_test", "dolly_input_1_test", "NSynth_pitch_recognition_test"):
        shutil.copy(official_dir / f"{stem}.json", predictions)
    shutil.copytree(official_dir / "gpt_result", predictions / "gpt_result")
    out = tmp_path / "report"
    assert main(["eval", "score", str(predictions), "--json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((out / "results.json").read_text())
    assert printed["tasks"]["AQA"]["value"] == pytest.approx(2.48)
    assert "## By modality layout" in (out / "results.md").read_text()
    # The verdicts used are written back in the official shape.
    assert len((out / "gpt_result" / "dolly_input_1_test.jsonl").read_text().splitlines()) == 100


def test_cli_errors_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["eval", "score", str(tmp_path / "missing")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    (tmp_path / "dolly_input_1_test.json").write_text(json.dumps([_record("x", "y")]))
    assert main(["eval", "score", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "need an LLM judge" in err and "--judge-base-url" in err and "Traceback" not in err
    assert main(["eval", "score", str(tmp_path), "--no-judge", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["files"]["dolly_input_1_test"]
    assert info["metrics"] == {"judge_score": None, "judged": 0, "exact_match": 0.0}


def test_json_lines_keep_records_whose_text_holds_unicode_line_separators(tmp_path: Path) -> None:
    # U+0085 and U+2028 are line breaks to str.splitlines(), not to JSON Lines (one record per "\n").
    records = [_record("Male.", "Male"), _record("Male.", "Male", utt="it\x85s fine"),
               _record("Female.", "female", utt="a\u2028b")]
    (tmp_path / "vctk_gender_classification_test.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    results = score_path(tmp_path, ScoreOptions(progress=False))
    info = results["files"]["vctk_gender_classification_test"]
    assert (info["n"], info["invalid"], info["metrics"]["accuracy"]) == (3, 0, 1.0)
