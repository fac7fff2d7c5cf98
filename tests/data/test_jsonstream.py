"""The streaming reader: arrays and JSON Lines, any window size, located errors, recovery."""

from __future__ import annotations

import json

import pytest

from llaso.data.jsonstream import scan_records

RECORDS = [{"id": i, "text": "é" * (i * 7), "nested": {"a": [1, {"b": "}{,"}]}} for i in range(40)]


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
@pytest.mark.parametrize("style", ["array_lines", "array_indent", "array_compact", "jsonl"])
def test_reads_every_record_at_any_window_size(tmp_path, chunk, style):
    if style == "jsonl":
        text = "\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS) + "\n"
    elif style == "array_lines":
        text = "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS) + "\n]\n"
    elif style == "array_indent":
        text = json.dumps(RECORDS, indent=2, ensure_ascii=False)
    else:
        text = json.dumps(RECORDS, ensure_ascii=False)
    records = list(scan_records(_write(tmp_path / "f.json", text), chunk_chars=chunk))
    assert [r.error for r in records] == [None] * len(RECORDS)
    assert [r.value for r in records] == RECORDS


def test_broken_record_is_located_and_reading_resumes(tmp_path):
    lines = [json.dumps(r) for r in RECORDS[:5]]
    lines[2] = lines[2].replace('"text":', '"text"')  # missing colon in record 2
    path = _write(tmp_path / "f.json", "[\n" + ",\n".join(lines) + "\n]\n")
    records = list(scan_records(path, chunk_chars=16))
    assert [r.ok for r in records] == [True, True, False, True, True]
    assert records[2].line == 4 and "line 4" in records[2].error
    assert [r.value["id"] for r in records if r.ok] == [0, 1, 3, 4]


def test_indented_array_recovers_at_same_indentation(tmp_path):
    text = json.dumps(RECORDS[:4], indent=2)
    broken = text.replace('"id": 1,', '"id": 1,,', 1)
    records = list(scan_records(_write(tmp_path / "f.json", broken)))
    assert [r.ok for r in records] == [True, False, True, True]
    assert [r.value["id"] for r in records if r.ok] == [0, 2, 3]


def test_truncated_array_reports_truncation(tmp_path):
    text = "[\n" + ",\n".join(json.dumps(r) for r in RECORDS[:3])
    text = text[: len(text) - 10]
    records = list(scan_records(_write(tmp_path / "f.json", text), chunk_chars=32))
    assert [r.ok for r in records][:2] == [True, True]
    assert any("truncated" in (r.error or "") for r in records[2:])


def test_unclosed_array_is_an_error(tmp_path):
    text = "[\n" + ",\n".join(json.dumps(r) for r in RECORDS[:3]) + "\n"
    records = list(scan_records(_write(tmp_path / "f.json", text)))
    assert [r.ok for r in records] == [True, True, True, False]
    assert "not closed" in records[-1].error


def test_jsonl_bad_line_and_stray_text(tmp_path):
    text = '{"id": 0}\nnot json at all\n{"id": 2}\n{"id": 3'
    records = list(scan_records(_write(tmp_path / "f.jsonl", text)))
    assert [r.ok for r in records] == [True, False, True, False]
    assert records[1].line == 2 and records[3].line == 4


def test_compact_array_that_cannot_resync_says_what_is_left(tmp_path):
    text = json.dumps(RECORDS[:3]).replace('"id": 1,', '"id": 1 1,')
    records = list(scan_records(_write(tmp_path / "f.json", text)))
    assert records[0].ok and not records[1].ok
    assert "left unread" in records[-1].error


def test_empty_file(tmp_path):
    records = list(scan_records(_write(tmp_path / "f.json", "  \n")))
    assert len(records) == 1 and "empty" in records[0].error
