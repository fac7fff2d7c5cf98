"""Score mode against the official LLaSO-Eval scripts' own numbers on awkward answers.

tests/fixtures/eval-oracle/predictions/ holds prediction files with answers of every awkward
kind; official_values.json holds what the official scripts gave on them, run once outside
this repository (docs/eval-semantics.md says how). Where a script stopped with an error,
the harness's documented value is checked instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llaso.cli.main import main
from llaso.eval.score import ScoreOptions, score_path

ORACLE = Path(__file__).resolve().parents[1] / "fixtures" / "eval-oracle"
PREDICTIONS = ORACLE / "predictions"
OFFICIAL: dict[str, dict[str, dict[str, Any]]] = json.loads(
    (ORACLE / "official_values.json").read_text(encoding="utf-8")
)["files"]

_SCRIPTS = "llaso/evaluation/metrics/"
Check = tuple[str, Callable[[dict[str, Any], dict[str, Any]], tuple[Any, Any]]]


def _same(metric: str, official_key: str) -> Check:
    return metric, lambda ours, official: (ours["metrics"][metric], pytest.approx(official[official_key], rel=1e-12))


def _parsed(ours: dict[str, Any], official: dict[str, Any]) -> tuple[Any, Any]:
    return ours["metrics"]["parsed"], ours["n"] - official["errors"]


# official script -> (harness metric, (harness value, official value)) for each number it gives
CHECKS: dict[str, list[Check]] = {
    "accuracy/accuracy.py": [_same("accuracy", "accuracy")],
    "abstention_rate/abstention_rate_cal.py": [
        ("abstention_rate", lambda ours, official: (round(100 * ours["metrics"]["abstention_rate"], 4),
                                                    official["abstention_rate"])),
        ("n", lambda ours, official: (ours["n"], official["total"])),
    ],
    "error_rate/assess_wer_cer.py": [_same("wer", "wer"), _same("cer", "cer")],
    "error_rate/assess_per_eval.py": [_same("per", "per")],
    "mae/age_L1.py": [_same("mae", "mae"), ("parsed", _parsed)],
    "mae/pitch_L1.py": [_same("mae", "mae"), ("parsed", _parsed)],
    "others/pronunciation_scoring.py": [
        _same("pronunciation_accuracy", "accuracy"),
        _same("pronunciation_prosodic", "prosodic_accuracy"),
        _same("pronunciation_fluency", "fluency_accuracy"),
        ("pronunciation_parsed", lambda ours, official: (ours["metrics"]["pronunciation_parsed"],
                                                         official["matched_entries"])),
    ],
    "gpt_scores/gpt_test.py": [
        _same("judge_score", "mean_score"),
        ("judged", lambda ours, official: (ours["metrics"]["judged"], official["scored"])),
    ],
}

SCORED = [
    (stem, script.removeprefix(_SCRIPTS))
    for stem, by_script in OFFICIAL.items()
    for script, output in by_script.items()
    if "error" not in output
]
FAILED = {stem for stem, by_script in OFFICIAL.items() for output in by_script.values() if "error" in output}


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    # No judge configured: every open-ended answer must find its official verdict.
    return score_path(PREDICTIONS, ScoreOptions(progress=False))


def test_every_oracle_file_is_scored_and_has_official_numbers(results: dict[str, Any]) -> None:
    stems = {p.name.removesuffix(".json") for p in PREDICTIONS.glob("*.json")}
    assert set(results["files"]) == stems == set(OFFICIAL)
    assert results["overall"]["invalid"] == 0
    assert {script for _, script in SCORED} == set(CHECKS)


@pytest.mark.parametrize(("stem", "script"), SCORED, ids=[f"{s}-{c.split('/')[-1]}" for s, c in SCORED])
def test_harness_gives_the_official_value(results: dict[str, Any], stem: str, script: str) -> None:
    official = OFFICIAL[stem][_SCRIPTS + script]
    ours = results["files"][stem]
    for name, compare in CHECKS[script]:
        value, expected = compare(ours, official)
        assert value == expected, f"{stem}: {name} by {script}"


def test_where_an_official_script_fails_the_harness_still_scores(results: dict[str, Any]) -> None:
    assert FAILED == {"ASR_ta_oracle-empty-answer_test", "PR_ta_oracle-trailing-empty_test",
                      "PP_ta_oracle-infinity_test"}
    asr = results["files"]["ASR_ta_oracle-empty-answer_test"]["metrics"]
    # The empty answer adds its label's 2 words (14 characters) as errors and nothing to N.
    assert asr["wer"] == pytest.approx((0 + 2 + 2) / (2 + 0 + 3))
    assert asr["cer"] == pytest.approx((0 + 14 + 6) / (11 + 0 + 12))
    # Every sample counts, the empty answer as 1 (its label has letters): (0 + 1/3 + 1) / 3.
    assert results["files"]["PR_ta_oracle-trailing-empty_test"]["metrics"]["per"] == pytest.approx(4 / 9)
    # "inf" is left out like any unreadable answer.
    pitch = results["files"]["PP_ta_oracle-infinity_test"]["metrics"]
    assert (pitch["mae"], pitch["parsed"]) == (1.0, 2)


def test_cli_prints_the_same_numbers(results: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "score", str(PREDICTIONS), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["files"] == results["files"]


def test_strict_and_corrected_variants_differ_where_the_official_scripts_err(results: dict[str, Any]) -> None:
    files = results["files"]
    gender = files["SGC_ta_oracle_test"]["metrics"]
    assert gender["accuracy_strict"] > gender["accuracy"]  # "female" no longer also names "male"
    asr = files["ASR_ta_oracle_test"]["metrics"]
    assert asr["wer_corrected"] != asr["wer"]
    pitch = files["PP_ta_oracle_test"]["metrics"]
    assert pitch["mae_corrected"] != pitch["mae"]
