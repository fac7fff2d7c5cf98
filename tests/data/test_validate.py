"""`llaso data validate`: every problem counted by kind and located; clean data passes."""

from __future__ import annotations

import json
import shutil

from llaso.cli.main import main
from llaso.data.validate import ValidateOptions, validate_path


def test_bad_fixture_counts_and_locates_every_problem(data_fixtures):
    report = validate_path(data_fixtures / "bad.json")
    assert report.records == 9
    assert dict(report.counts) == {
        "invalid_json": 1, "placeholder_mismatch": 1, "missing_audio": 1,
        "undecodable_audio": 1, "empty_turn": 1, "role_order": 1, "duplicate_id": 1,
    }
    assert report.valid == 2  # ok_1 and ok_2; nothing skipped silently
    broken = report.examples["invalid_json"][0]
    assert (broken.index, broken.line) == (1, 3)
    assert report.examples["missing_audio"][0].sample_id == "missing_audio"
    assert report.examples["duplicate_id"][0].index == 7
    text = report.format()
    assert "bad.json:3 (line 5, id missing_audio)" in text


def test_good_fixture_passes(data_fixtures):
    report = validate_path(data_fixtures / "good.json")
    assert report.ok and report.valid == 5 and report.audio_checked == 3


def test_duration_range(data_fixtures):
    report = validate_path(data_fixtures / "good.json",
                           ValidateOptions(min_seconds=0.8, max_seconds=1.2))
    # yes.wav (0.68 s) twice, cat_sat.wav (1.57 s) three times; the 1 s note is in range
    assert report.counts["duration_out_of_range"] == 5
    long = validate_path(data_fixtures / "good.json", ValidateOptions(decode=True))
    assert long.ok


def test_audio_root_option(tmp_path, data_fixtures):
    shutil.copy(data_fixtures / "good.json", tmp_path / "good.json")
    assert validate_path(tmp_path / "good.json").counts["missing_audio"] == 6
    assert validate_path(tmp_path / "good.json", ValidateOptions(audio_root=str(data_fixtures))).ok


def test_cli_exit_codes(data_fixtures, capsys):
    assert main(["data", "validate", str(data_fixtures / "good.json")]) == 0
    assert main(["data", "validate", str(data_fixtures / "bad.json"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert report["errors"] == 7 and report["counts"]["invalid_json"] == 1
    assert main(["data", "validate", str(data_fixtures / "missing.json")]) == 2


def test_duplicate_ids_across_files_only_with_global_ids(tmp_path, data_fixtures):
    for name in ("a.json", "b.json"):
        shutil.copy(data_fixtures / "good.json", tmp_path / name)
    options = ValidateOptions(audio_root=str(data_fixtures))
    assert validate_path(tmp_path, options).ok
    options.global_ids = True
    assert validate_path(tmp_path, options).counts["duplicate_id"] == 5


def test_official_folder_validates_and_skips_non_sample_files(official_dir):
    report = validate_path(official_dir, ValidateOptions(check_audio=False))
    assert report.ok and report.records == 10_605 and report.files == 44
    assert len(report.skipped_files) == 22  # gpt_result/ verdicts and abstention statistics


def test_large_file_streams_in_bounded_memory(tmp_path):
    import tracemalloc

    from llaso.data.schema import write_samples

    record = {"conversations": [{"from": "human", "value": "x" * 10_000 + "<audio>"},
                                {"from": "gpt", "value": "y"}], "voice": ["a.wav"]}
    path = tmp_path / "big.json"
    write_samples(path, (record for _ in range(3000)))
    assert path.stat().st_size > 30e6
    tracemalloc.start()
    report = validate_path(path, ValidateOptions(check_audio=False))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report.ok and report.records == 3000
    assert peak < 10e6  # a window of a few MB, never the whole 30 MB file
