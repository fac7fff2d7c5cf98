from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from llaso.features.retrieval.index import PassageIndex, PassageIndexError
from llaso.features.retrieval.passages import PassageSettings
from llaso.features.retrieval.search import retrieve


@pytest.fixture()
def index(tmp_path, docs_dir):
    with PassageIndex.create(tmp_path / "index.sqlite") as built:
        built.add([docs_dir])
        yield built


def _counts(index: PassageIndex) -> tuple[int, int, int]:
    db = index.db
    return (db.execute("SELECT count(*) FROM documents").fetchone()[0],
            db.execute("SELECT count(*) FROM passages").fetchone()[0],
            db.execute("SELECT count(*) FROM passages_fts").fetchone()[0])


def test_build_keeps_paths_and_positions(index, docs_dir):
    stats = index.stats()
    assert stats.documents == 3 and stats.passages >= 5 and stats.kinds == {"html": 1, "markdown": 1, "text": 1}
    hit = retrieve(index, "Who was the last keeper of the lighthouse?", k=1).hits[0]
    assert hit.passage.path == os.path.realpath(docs_dir / "lighthouse.txt")
    assert hit.passage.heading == "Keepers" and hit.passage.line == 10
    assert hit.passage.position == "lines 10-11, § Keepers, passage 2"


def test_adding_again_duplicates_nothing(index, docs_dir):
    before = _counts(index)
    report = index.add([docs_dir, docs_dir / "bakery.md"])
    assert len(report.unchanged) == 3 and not report.added and report.passages == 0
    copy = docs_dir.parent / "copy-of-bakery.md"
    shutil.copy(docs_dir / "bakery.md", copy)
    report = index.add([copy])
    assert report.duplicates == [(os.path.realpath(copy), os.path.realpath(docs_dir / "bakery.md"))]
    assert _counts(index) == before


def test_changed_file_replaces_its_passages(index, docs_dir):
    documents, passages, _ = _counts(index)
    (docs_dir / "bakery.md").write_text("# Bakery\n\nThe bakery now sells only croissants on Sundays.\n")
    report = index.add([docs_dir])
    assert report.updated == [os.path.realpath(docs_dir / "bakery.md")] and len(report.unchanged) == 2
    assert _counts(index)[0] == documents
    assert "croissants" in retrieve(index, "croissants", k=1).hits[0].passage.text
    assert not retrieve(index, "sourdough rye starter", k=5).hits or all(
        "sourdough" not in h.passage.text for h in retrieve(index, "sourdough rye starter", k=5).hits)


def test_remove_file_folder_and_missing(index, docs_dir, tmp_path):
    assert index.remove([docs_dir / "garden.html"]) == [os.path.realpath(docs_dir / "garden.html")]
    assert not retrieve(index, "raised beds cisterns", k=3).hits
    (docs_dir / "bakery.md").unlink()
    assert index.remove(missing=True) == [os.path.realpath(docs_dir / "bakery.md")]
    assert index.remove([docs_dir]) == [os.path.realpath(docs_dir / "lighthouse.txt")]
    assert _counts(index) == (0, 0, 0)
    with pytest.raises(PassageIndexError, match="not in"):
        index.remove([tmp_path / "never-added.txt"])


def test_bad_files_are_reported_and_the_rest_indexed(tmp_path, docs_dir):
    (docs_dir / "broken.txt").write_bytes(b"\x00\x01binary")
    with PassageIndex.create(tmp_path / "i.sqlite") as index:
        report = index.add([docs_dir])
    assert [os.path.basename(p) for p, _ in report.failed] == ["broken.txt"]
    assert "binary" in report.failed[0][1] and len(report.added) == 3


def test_missing_path_fails_before_writing(tmp_path, docs_dir):
    with PassageIndex.create(tmp_path / "i.sqlite") as index:
        with pytest.raises(Exception, match="no such file"):
            index.add([docs_dir, tmp_path / "nope"])
        assert index.stats().documents == 0


def test_reopen_with_other_settings_is_refused(tmp_path, docs_dir):
    PassageIndex.create(tmp_path / "i.sqlite").close()
    PassageIndex.create(tmp_path / "i.sqlite").close()  # same settings: resumes
    with pytest.raises(PassageIndexError, match="other settings"):
        PassageIndex.create(tmp_path / "i.sqlite", PassageSettings(60, 10))
    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(PassageIndexError, match="not a llaso index"):
        PassageIndex.open(tmp_path / "junk.sqlite")
    with pytest.raises(PassageIndexError, match="no index"):
        PassageIndex.open(tmp_path / "absent.sqlite")


def test_a_killed_build_keeps_what_it_committed_and_resumes(tmp_path, docs_dir):
    """The process dies inside its second transaction: the first group survives, the half
    written one leaves no trace, and a rerun indexes the rest."""
    path = tmp_path / "i.sqlite"
    script = textwrap.dedent("""
        import os, sys
        from llaso.features.retrieval import index as m
        m.GROUP_FILES = 1
        calls = []
        original = m.PassageIndex._write_group
        def dying(self, group):
            calls.append(1)
            if len(calls) == 2:
                self.db.execute("BEGIN IMMEDIATE")
                self.db.execute("INSERT INTO documents(path, sha256, size, kind, n_passages, added_at) "
                                "VALUES ('half-written', 'x', 1, 'text', 1, 0)")
                os._exit(9)
            return original(self, group)
        m.PassageIndex._write_group = dying
        m.PassageIndex.create(sys.argv[1]).add([sys.argv[2]])
    """)
    done = subprocess.run([sys.executable, "-c", script, str(path), str(docs_dir)], capture_output=True)
    assert done.returncode == 9, done.stderr.decode()
    with PassageIndex.open(path) as index:
        assert [d["path"] for d in index.documents()] == [os.path.realpath(docs_dir / "bakery.md")]
        assert index.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        index.db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('integrity-check')")
        _, passages, fts_rows = _counts(index)
        assert passages == fts_rows == index.stats().passages
        report = index.add([docs_dir])
        assert len(report.unchanged) == 1 and len(report.added) == 2


@pytest.mark.parametrize("query", [
    'the "harbour lighthouse',  # unbalanced quote
    'lighthouse AND', 'NOT lighthouse', 'OR OR OR', 'NEAR(lighthouse keeper)',
    'light*', '*', '-lighthouse', 'text:lighthouse', 'heading: keepers', '^granite',
    'lighthouse" OR "1=1', "agnes's diary (museum)", "C-style; DROP TABLE passages; --", "  ",
    "{keeper} [diary]", "lamp+visible", "granite\x00blocks",
])
def test_fts_syntax_in_a_question_never_breaks_search(index, query):
    result = retrieve(index, query, k=3)  # no sqlite3.OperationalError
    assert isinstance(result.hits, list)


def test_escaped_queries_still_find_their_words(index):
    for query in ['"lighthouse" AND "keeper*"', "-keeper- NOT diary", "C-style granite?"]:
        texts = [h.passage.text for h in retrieve(index, query, k=2).hits]
        assert texts and any(w in texts[0] for w in ("keeper", "Agnes", "granite"))
    assert index.db.execute("SELECT count(*) FROM passages").fetchone()[0] > 0  # nothing was dropped


def test_relevance_separates_answerable_from_unanswerable(index):
    good = retrieve(index, "When does the bakery open?", k=3)
    bad = retrieve(index, "What is the interest rate of the central bank?", k=3)
    assert "seven" in good.hits[0].passage.text and good.relevance > 0.8
    assert bad.relevance < 0.3
    assert retrieve(index, "what is it and how", k=3).relevance == 0.0  # stopwords only


def test_concurrent_reader_sees_committed_state(index, docs_dir):
    reader = sqlite3.connect(index.path)
    assert reader.execute("SELECT count(*) FROM documents").fetchone()[0] == 3
    reader.close()
