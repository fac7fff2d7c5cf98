"""`llaso index ...` and `llaso ask` as a user runs them (in process, real files)."""

from __future__ import annotations

import json
import shutil

import pytest

from llaso.cli.main import main


def test_index_build_add_stats_search_remove(tmp_path, docs_dir, capsys):
    out = tmp_path / "docs.sqlite"
    held_back = tmp_path / "later"
    held_back.mkdir()
    shutil.move(docs_dir / "garden.html", held_back / "garden.html")
    assert main(["index", "build", str(docs_dir), "--out", str(out)]) == 0
    assert "2 added" in capsys.readouterr().out
    assert main(["index", "add", str(out), str(held_back), str(docs_dir)]) == 0
    assert "1 added, 0 updated, 2 unchanged" in capsys.readouterr().out
    assert main(["index", "stats", str(out), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["documents"] == 3 and stats["dense"] is False
    assert main(["index", "search", str(out), 'cisterns "AND" litres*', "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["hits"][0]["path"].endswith("garden.html") and "position" in found["hits"][0]
    assert main(["index", "remove", str(out), str(held_back / "garden.html")]) == 0
    assert "1 documents removed" in capsys.readouterr().out


def test_index_errors_are_one_line(tmp_path, docs_dir, capsys):
    assert main(["index", "stats", str(tmp_path / "missing.sqlite")]) == 2
    assert "no index at" in capsys.readouterr().err
    assert main(["index", "build", str(tmp_path / "nope"), "--out", str(tmp_path / "x.sqlite")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["index", "build", str(docs_dir), "--out", str(tmp_path / "y.sqlite"), "--passage-words", "5"]) == 2
    (docs_dir / "bad.txt").write_bytes(b"\x00\x00")
    assert main(["index", "build", str(docs_dir), "--out", str(tmp_path / "z.sqlite")]) == 1
    assert "skipped" in capsys.readouterr().err
    assert main(["ask", "--index", str(tmp_path / "z.sqlite")]) == 2
    assert "--audio FILE, --question TEXT" in capsys.readouterr().err


@pytest.mark.slow
def test_llaso_ask_question_end_to_end(tmp_path, docs_dir, capsys):
    out = tmp_path / "docs.sqlite"
    assert main(["index", "build", str(docs_dir), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["ask", "--index", str(out), "--question", "How many raised beds does the community garden have?",
                 "--max-new-tokens", "40", "--device", "cpu", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["passages"][0]["path"].endswith("garden.html") and answer["pipeline"] == "lslm"
    assert answer["refused"] or answer["raw"]
    for citation in answer["citations"]:
        assert citation["path"].endswith((".html", ".md", ".txt")) and citation["position"]
    assert main(["ask", "--index", str(out), "--question", "Who painted the Mona Lisa?", "--device", "cpu"]) == 0
    assert capsys.readouterr().out.strip() == "I could not find the answer in the documents."
