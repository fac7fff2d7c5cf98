"""Comparing systems: ratio-to-best normalisation, the table and the radar chart."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from PIL import Image

from llaso.cli.main import main
from llaso.eval.compare import compare, normalized_score
from llaso.eval.score import ScoreOptions, score_path


def test_normalized_score_is_ratio_to_best() -> None:
    assert normalized_score(0.5, 1.0, higher_is_better=True) == 0.5
    assert normalized_score(0.2, 0.1, higher_is_better=False) == 0.5
    assert normalized_score(0.0, 0.0, higher_is_better=False) == 1.0
    assert normalized_score(None, 1.0, higher_is_better=True) is None


def _system(name: str, values: dict) -> dict:
    metrics = {"ASR": "wer", "SGC": "accuracy", "AQA": "judge_score"}
    return {"system": name, "tasks": {c: {"metric": metrics[c], "value": v, "files": [c]} for c, v in values.items()}}


def test_compare_normalises_per_task_and_averages_shared_tasks() -> None:
    a = _system("a", {"ASR": 0.10, "SGC": 0.90, "AQA": 2.0})
    b = _system("b", {"ASR": 0.20, "SGC": 0.45})
    result = compare([a, b])
    assert result["tasks"]["ASR"]["normalized"] == {"a": 1.0, "b": 0.5}
    assert result["tasks"]["SGC"]["normalized"] == {"a": 1.0, "b": 0.5}
    assert result["tasks"]["AQA"]["normalized"] == {"a": 1.0, "b": None}
    assert result["shared_tasks"] == ["ASR", "SGC"]
    assert result["overall"] == {"a": 1.0, "b": 0.5}
    assert result["by_category"]["b"]["linguistic"] == 0.5
    assert "best" in result["normalization"]


def test_cli_compare_writes_table_json_and_radar(official_dir: Path, tmp_path: Path, capsys) -> None:
    base = score_path(official_dir, ScoreOptions(progress=False, use_judge=False))
    worse = copy.deepcopy(base)
    worse["system"] = "Worse"
    for task in worse["tasks"].values():
        better = task["metric"] not in ("wer", "per", "mae")
        task["value"] = task["value"] * (0.5 if better else 2.0)
    (tmp_path / "worse.json").write_text(json.dumps(worse))
    out = tmp_path / "report"
    assert main(["eval", "compare", str(official_dir), str(tmp_path / "worse.json"), "--out", str(out),
                 "--no-judge"]) == 0
    table = capsys.readouterr().out
    assert "| ASR | wer ↓ |" in table and "Normalised score" in table
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison["systems"] == ["LLaSO-Base", "Worse"]
    assert comparison["overall"]["LLaSO-Base"] == 1.0
    assert comparison["overall"]["Worse"] == pytest.approx(0.5)
    with Image.open(out / "radar.png") as image:
        assert image.format == "PNG" and image.size[0] > 300
