"""Score mode reproduces what LLaSO-Base's released predictions must score (shared/notes/llaso-eval.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llaso.data.file_names import OFFICIAL_STEMS
from llaso.eval.score import ScoreOptions, score_path


@pytest.fixture(scope="module")
def results(official_dir: Path) -> dict:
    return score_path(official_dir, ScoreOptions(progress=False, use_judge=False))


# task: (metric, expected value, tolerance); accuracy as a fraction
EXPECTED = {
    "SGC": ("accuracy", 0.9038, 0.001),
    "AC": ("accuracy", 0.6933, 0.001),
    "AR": ("accuracy", 0.600, 0.001),
    "EIE": ("accuracy", 0.480, 0.001),
    "ER": ("accuracy", 0.215, 0.001),
    "SSD": ("accuracy", 0.990, 0.001),
    "SV": ("accuracy", 0.320, 0.001),
    "VSC": ("accuracy", 0.780, 0.001),
    "IC": ("accuracy", 0.500, 0.001),
    "ISC": ("accuracy", 0.600, 0.001),
    "VC": ("accuracy", 0.180, 0.001),
    "ASR": ("wer", 0.0845, 0.0005),
    "PP": ("mae", 8.02, 0.01),
    "AQA": ("judge_score", 2.459, 0.005),
    "SCR": ("judge_score", 4.86, 0.005),
    "IP": ("judge_score", 3.93, 0.005),
    "EE": ("judge_score", 3.57, 0.005),
    "PSWL": ("judge_score", 2.90, 0.005),
    "PSSL": ("judge_score", 2.80, 0.005),
}


def test_every_official_file_is_scored_with_no_invalid_record(results: dict) -> None:
    assert set(results["files"]) == set(OFFICIAL_STEMS)
    assert len(results["files"]) == 44
    assert results["overall"]["n_samples"] == 10605
    assert results["overall"]["invalid"] == 0
    assert results["prediction_key"] == "answer"
    assert sorted(results["tasks"]) == sorted(list(EXPECTED) + ["PR"])


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_task_value_matches_the_notes(results: dict, task: str) -> None:
    metric, expected, tolerance = EXPECTED[task]
    assert results["tasks"][task]["metric"] == metric
    assert results["tasks"][task]["value"] == pytest.approx(expected, abs=tolerance)


def test_asr_cer_and_phoneme_error_rate(results: dict) -> None:
    asr = results["files"]["ASR_test"]["metrics"]
    assert asr["cer"] == pytest.approx(0.0362, abs=0.0005)
    # Normalising case and punctuation can only remove errors.
    assert asr["wer_normalized"] < asr["wer"]
    assert asr["cer_normalized"] < asr["cer"]
    per = results["tasks"]["PR"]["value"]
    assert 0.031 <= per <= 0.037


def test_number_predictions_all_parsed(results: dict) -> None:
    age = results["files"]["vocalsound_age_prediction_test"]["metrics"]
    assert (age["mae"], age["parsed"]) == pytest.approx((10.31, 200), abs=0.01)
    assert results["files"]["NSynth_pitch_recognition_test"]["metrics"]["parsed"] == 112


def test_aqa_by_layout(results: dict) -> None:
    layouts = results["overall"]["by_layout"]
    assert layouts["a"]["AQA"]["value"] == pytest.approx(1.927, abs=0.005)
    assert layouts["t,a"]["AQA"]["value"] == pytest.approx(2.575, abs=0.005)
    assert layouts["a,t"]["AQA"]["value"] == pytest.approx(2.698, abs=0.005)
    assert len(layouts["a"]["AQA"]["files"]) == 4


def test_abstention_matches_the_official_statistics_exactly(results: dict, official_dir: Path) -> None:
    stats_path = official_dir / "abstention" / "instruction_follow_stats.jsonl"
    stats = [json.loads(line) for line in stats_path.read_text().splitlines() if line.strip()]
    assert len(stats) == 19
    closed_set = {s for s, f in results["files"].items() if "abstention_rate" in f["metrics"]}
    assert closed_set == {s["file"].removesuffix(".json") for s in stats}
    for entry in stats:
        ours = results["files"][entry["file"].removesuffix(".json")]
        assert ours["n"] == entry["total"]
        assert ours["metrics"]["abstention_rate"] == entry["abstention_rate"]
        assert round((1 - ours["metrics"]["abstention_rate"]) * ours["n"]) == entry["one_hit"]


def test_judge_scores_come_from_the_released_verdicts_without_a_judge(results: dict) -> None:
    for stem, info in results["files"].items():
        if "judged" in info["metrics"]:
            assert info["metrics"]["judged"] == info["n"], stem
