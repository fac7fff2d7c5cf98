"""`llaso data stats`."""

from __future__ import annotations

import json

import pytest

from llaso.cli.main import main
from llaso.data.stats import corpus_stats


@pytest.mark.slow
def test_stats_of_the_small_build(mini_small, capsys):
    out, manifest = mini_small
    stats = corpus_stats(out)
    assert stats["samples"] == manifest["samples"]
    assert stats["tasks"] == manifest["tasks"] and stats["layouts"] == manifest["layouts"]
    assert stats["audio"]["clips"] == manifest["clips"]
    assert abs(stats["audio"]["hours"] - manifest["hours"]) < 1e-3
    assert stats["splits"]["test"] > 0 and stats["tts_engines"]
    assert main(["data", "stats", str(out / "train"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["samples"] == stats["splits"]["train"]
    assert set(printed) >= {"samples", "tasks", "layouts", "audio"}


def test_stats_of_fixtures(data_fixtures):
    stats = corpus_stats(data_fixtures / "good.json")
    assert stats["samples"] == 5
    assert stats["tasks"] == {"AQA": 1, "ASR": 1, "PP": 1, "SCR": 1, "SV": 1}
    assert stats["clips_per_sample"] == {"1": 4, "2": 1}
    assert stats["audio"]["clips"] == 6 and stats["audio"]["audio_tokens"]["max"] == 20


def test_stats_of_official_files(official_dir):
    stats = corpus_stats(official_dir, with_audio=False)
    assert stats["samples"] == 10_605 and len(stats["tasks"]) == 20
    assert stats["layouts"] == {"a": 400, "a,t": 600, "t,a": 9605}
