"""The passage index: one SQLite file with an FTS5 (BM25) table and optional dense vectors.

Documents are added in transactions of a few files each, so a killed build loses only the
group it was writing and a rerun picks up where it stopped (unchanged files are recognised
by their SHA-256 and skipped). A file is identified by its resolved path: adding it again
replaces its passages only when its content changed, and a file whose content is already
indexed under another path is skipped as a duplicate. WAL journaling lets `ask` read while
`add` writes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from llaso.errors import LlasoError
from llaso.features.retrieval.fts_query import match_expression, query_terms, quote_term
from llaso.features.retrieval.passages import Passage, PassageSettings, split_passages
from llaso.features.retrieval.readers import DEFAULT_MAX_BYTES, DocumentError, iter_document_paths, read_document
from llaso.features.retrieval.words import STOPWORDS

SCHEMA_VERSION = 1
TOKENIZER = "porter unicode61 remove_diacritics 2"
GROUP_FILES = 32  # documents per transaction
GROUP_PASSAGES = 512  # ... or passages, whichever comes first (embedding batches too)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    title TEXT,
    n_passages INTEGER NOT NULL,
    added_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_sha256 ON documents(sha256);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    line INTEGER, end_line INTEGER, page INTEGER, end_page INTEGER,
    heading TEXT
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(text, heading, tokenize='{TOKENIZER}');
CREATE VIRTUAL TABLE IF NOT EXISTS passages_vocab USING fts5vocab(passages_fts, 'row');
CREATE TABLE IF NOT EXISTS embeddings (passage_id INTEGER PRIMARY KEY, vector BLOB NOT NULL);
"""


class PassageIndexError(LlasoError, RuntimeError):
    """An index that is missing, from another version, or built with other settings."""


@dataclass
class StoredPassage:
    """A passage as retrieval returns it: its text and where it came from."""

    id: int
    path: str
    title: str | None
    ordinal: int
    text: str
    heading: str | None
    start: int
    end: int
    line: int | None = None
    end_line: int | None = None
    page: int | None = None
    end_page: int | None = None

    @property
    def position(self) -> str:
        """Where to look: lines for text and Markdown, pages for PDF, the section for HTML."""
        parts = []
        if self.page is not None:
            parts.append(f"page {self.page}" if self.end_page in (None, self.page) else f"pages {self.page}-{self.end_page}")
        elif self.line is not None:
            parts.append(f"line {self.line}" if self.end_line in (None, self.line) else f"lines {self.line}-{self.end_line}")
        if self.heading:
            parts.append(f"§ {self.heading}")
        parts.append(f"passage {self.ordinal + 1}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "position": self.position}


@dataclass
class AddReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (path, already indexed as)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    passages: int = 0
    seconds: float = 0.0


@dataclass
class IndexStats:
    path: str
    documents: int
    passages: int
    words: int
    dense: bool
    embedder: str | None
    max_words: int
    overlap_words: int
    bytes_on_disk: int
    kinds: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Progress = Callable[[str], None]


def file_sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _resolve(path: str | os.PathLike) -> str:
    return os.path.realpath(os.path.expanduser(os.fspath(path)))


class PassageIndex:
    """An open index file. Use `PassageIndex.create(...)` or `PassageIndex.open(...)`."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self.db = connection
        self._meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        self._embedder = None
        self._dense_cache: tuple[int, np.ndarray, np.ndarray] | None = None  # (data_version, ids, matrix)

    # -- opening --------------------------------------------------------------------------
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None, timeout=30.0, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    @classmethod
    def create(cls, path: str | os.PathLike, settings: PassageSettings = PassageSettings(),
               embedder: str | None = None) -> PassageIndex:
        """A new index, or the existing one at `path` when it was made with the same settings
        (so that an interrupted build resumes)."""
        path = Path(path)
        if path.exists():
            index = cls.open(path)
            same = (index.settings == settings and index.embedder_name == embedder)
            if not same:
                index.close()
                raise PassageIndexError(
                    f"{path} exists with other settings (max_words={index.settings.max_words}, "
                    f"overlap_words={index.settings.overlap_words}, embedder={index.embedder_name}); "
                    "pick another path or delete it to rebuild"
                )
            return index
        path.parent.mkdir(parents=True, exist_ok=True)
        db = cls._connect(path)
        try:
            db.execute("BEGIN IMMEDIATE")
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            meta = {"schema_version": str(SCHEMA_VERSION), "max_words": str(settings.max_words),
                    "overlap_words": str(settings.overlap_words), "tokenizer": TOKENIZER,
                    "embedder": embedder or "", "created_at": str(time.time())}
            db.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", meta.items())
            db.execute("COMMIT")
        except BaseException:
            db.close()
            path.unlink(missing_ok=True)
            raise
        return cls(path, db)

    @classmethod
    def open(cls, path: str | os.PathLike) -> PassageIndex:
        path = Path(path)
        if not path.is_file():
            raise PassageIndexError(f"no index at {path}: build one with `llaso index build DOCS --out {path}`")
        try:
            db = cls._connect(path)
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise PassageIndexError(f"{path} is not a llaso index ({exc})") from None
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            db.close()
            raise PassageIndexError(f"{path} has index schema {meta.get('schema_version')!r}; this llaso reads "
                             f"{SCHEMA_VERSION}: rebuild it")
        return cls(path, db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> PassageIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def settings(self) -> PassageSettings:
        return PassageSettings(int(self._meta["max_words"]), int(self._meta["overlap_words"]))

    @property
    def embedder_name(self) -> str | None:
        return self._meta.get("embedder") or None

    @property
    def dense(self) -> bool:
        return self.embedder_name is not None

    def embedder(self):
        """The index's embedding model, loaded on first use (None for a BM25-only index)."""
        if self._embedder is None and self.dense:
            from llaso.features.retrieval.embeddings import load_embedder

            self._embedder = load_embedder(self.embedder_name)
        return self._embedder

    def set_embedder(self, embedder) -> None:
        """Use an already loaded embedder (it must be the one the index was built with)."""
        if embedder is not None and embedder.name != self.embedder_name:
            raise PassageIndexError(f"{self.path} was built with embedder {self.embedder_name}, not {embedder.name}")
        self._embedder = embedder

    # -- writing --------------------------------------------------------------------------
    def add(self, paths: Iterable[str | os.PathLike], *, progress: Progress | None = None,
            max_bytes: int = DEFAULT_MAX_BYTES) -> AddReport:
        """Index files and folders; unreadable files are reported in `failed`, not raised."""
        began = time.perf_counter()
        files = list(iter_document_paths(paths))  # a path that does not exist fails before any write
        report = AddReport()
        group: list[tuple[str, str, int, Any, list[Passage]]] = []
        group_passages = 0
        seen: set[str] = set()
        for path in files:
            resolved = _resolve(path)
            if resolved in seen:
                continue
            seen.add(resolved)
            if progress:
                progress(resolved)
            try:
                sha, size = file_sha256(Path(resolved))
            except OSError as exc:
                report.failed.append((resolved, exc.strerror or str(exc)))
                continue
            existing = self.db.execute("SELECT sha256 FROM documents WHERE path = ?", (resolved,)).fetchone()
            if existing and existing[0] == sha:
                report.unchanged.append(resolved)
                continue
            twin = self.db.execute("SELECT path FROM documents WHERE sha256 = ? AND path != ?",
                                   (sha, resolved)).fetchone()
            twin = twin or next(((p, None) for p, s, *_ in group if s == sha), None)
            if twin:
                report.duplicates.append((resolved, twin[0]))
                continue
            try:
                document = read_document(resolved, max_bytes=max_bytes)
            except DocumentError as exc:
                report.failed.append((resolved, exc.reason))
                continue
            passages = split_passages(document, self.settings)
            (report.updated if existing else report.added).append(resolved)
            group.append((resolved, sha, size, document, passages))
            group_passages += len(passages)
            if len(group) >= GROUP_FILES or group_passages >= GROUP_PASSAGES:
                report.passages += self._write_group(group)
                group, group_passages = [], 0
        if group:
            report.passages += self._write_group(group)
        report.seconds = time.perf_counter() - began
        return report

    def _write_group(self, group: list[tuple[str, str, int, Any, list[Passage]]]) -> int:
        vectors = None
        if self.dense:  # embedded before the write lock is taken
            texts = [_embedding_text(p) for *_, passages in group for p in passages]
            vectors = self.embedder().embed(texts).astype(np.float16)
        row = 0
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for path, sha, size, document, passages in group:
                self._delete_documents(self.db.execute("SELECT id FROM documents WHERE path = ?", (path,)).fetchall())
                cursor = self.db.execute(
                    "INSERT INTO documents(path, sha256, size, kind, title, n_passages, added_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (path, sha, size, document.kind, document.title, len(passages), time.time()))
                doc_id = cursor.lastrowid
                for passage in passages:
                    pid = self.db.execute(
                        "INSERT INTO passages(doc_id, ordinal, start, end, line, end_line, page, end_page, heading) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (doc_id, passage.ordinal, passage.start, passage.end, passage.line, passage.end_line,
                         passage.page, passage.end_page, passage.heading)).lastrowid
                    self.db.execute("INSERT INTO passages_fts(rowid, text, heading) VALUES (?, ?, ?)",
                                    (pid, passage.text, passage.heading or ""))
                    if vectors is not None:
                        self.db.execute("INSERT INTO embeddings(passage_id, vector) VALUES (?, ?)",
                                        (pid, vectors[row].tobytes()))
                    row += 1
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self._dense_cache = None
        return row

    def _delete_documents(self, rows: Sequence[tuple[int]]) -> None:
        for (doc_id,) in rows:
            ids = [r[0] for r in self.db.execute("SELECT id FROM passages WHERE doc_id = ?", (doc_id,))]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                self.db.execute(f"DELETE FROM passages_fts WHERE rowid IN ({marks})", chunk)
                self.db.execute(f"DELETE FROM embeddings WHERE passage_id IN ({marks})", chunk)
            self.db.execute("DELETE FROM passages WHERE doc_id = ?", (doc_id,))
            self.db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))

    def remove(self, paths: Iterable[str | os.PathLike] = (), *, missing: bool = False) -> list[str]:
        """Drop documents: each path given (a file, or every file under a folder), and with
        `missing` every document whose file is gone. Returns the paths removed."""
        targets: list[tuple[int, str]] = []
        for item in paths:
            resolved = _resolve(item)
            prefix = resolved.rstrip(os.sep) + os.sep
            rows = self.db.execute(
                "SELECT id, path FROM documents WHERE path = ? OR substr(path, 1, ?) = ?",
                (resolved, len(prefix), prefix)).fetchall()
            if not rows:
                raise PassageIndexError(f"{resolved} is not in {self.path}")
            targets += rows
        if missing:
            targets += [(i, p) for i, p in self.db.execute("SELECT id, path FROM documents") if not os.path.exists(p)]
        unique = dict(targets)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self._delete_documents([(i,) for i in unique])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self._dense_cache = None
        return sorted(unique.values())

    def optimize(self) -> None:
        """Merge FTS5's segments (faster queries after many small adds)."""
        self.db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('optimize')")

    # -- reading --------------------------------------------------------------------------
    def stats(self) -> IndexStats:
        documents, passages = self.db.execute(
            "SELECT count(*), coalesce(sum(n_passages), 0) FROM documents").fetchone()
        kinds = dict(self.db.execute("SELECT kind, count(*) FROM documents GROUP BY kind").fetchall())
        words = 0
        if passages:
            words = int(self.db.execute("SELECT coalesce(sum(cnt), 0) FROM passages_vocab").fetchone()[0])
        size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        return IndexStats(path=str(self.path), documents=documents, passages=passages, words=words,
                          dense=self.dense, embedder=self.embedder_name, max_words=self.settings.max_words,
                          overlap_words=self.settings.overlap_words, bytes_on_disk=size, kinds=kinds)

    def documents(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT path, kind, title, n_passages, sha256 FROM documents ORDER BY path")
        return [dict(zip(("path", "kind", "title", "passages", "sha256"), r)) for r in rows]

    def passages(self, ids: Sequence[int]) -> list[StoredPassage]:
        """The passages with these ids, in the order given (unknown ids are left out)."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            "SELECT p.id, d.path, d.title, p.ordinal, f.text, p.heading, p.start, p.end, p.line, p.end_line, "
            f"p.page, p.end_page FROM passages p JOIN documents d ON d.id = p.doc_id "
            f"JOIN passages_fts f ON f.rowid = p.id WHERE p.id IN ({marks})", list(ids)).fetchall()
        by_id = {r[0]: StoredPassage(*r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def passage_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM passages").fetchone()[0])

    def search_bm25(self, text: str, k: int = 10) -> list[tuple[int, float]]:
        """(passage id, BM25 score, higher is better) of the best `k` passages for `text`."""
        expression = match_expression(text)
        if expression is None:
            return []
        rows = self.db.execute(
            "SELECT rowid, rank FROM passages_fts WHERE passages_fts MATCH ? ORDER BY rank LIMIT ?",
            (expression, k)).fetchall()
        return [(int(i), -float(score)) for i, score in rows]  # FTS5's rank is negative BM25

    def term_coverage(self, text: str, passage_ids: Sequence[int]) -> dict[int, float]:
        """For each passage, the share of the question's IDF weight that its words cover.

        A question whose rare words are all in a passage scores near 1; one that shares only
        common words with every passage scores low, whatever its length: what the refusal
        threshold reads for BM25 (raw BM25 scores grow with query length and corpus).
        """
        terms = [t for t in query_terms(text) if t not in STOPWORDS]
        if not terms or not passage_ids:  # a question of only stopwords matches nothing in particular
            return {i: 0.0 for i in passage_ids}
        total = max(1, self.passage_count())
        stems = self._stems(terms)
        weights: dict[str, float] = {}
        for term in terms:
            stem = stems.get(term, term)
            row = self.db.execute("SELECT doc FROM passages_vocab WHERE term = ?", (stem,)).fetchone()
            df = int(row[0]) if row else 0
            weights[term] = math.log(1.0 + (total - df + 0.5) / (df + 0.5))
        marks = ",".join("?" * len(passage_ids))
        covered = {i: 0.0 for i in passage_ids}
        for term, weight in weights.items():
            rows = self.db.execute(
                f"SELECT rowid FROM passages_fts WHERE passages_fts MATCH ? AND rowid IN ({marks})",
                [quote_term(term), *passage_ids]).fetchall()
            for (pid,) in rows:
                covered[int(pid)] += weight
        mass = sum(weights.values()) or 1.0
        return {i: covered[i] / mass for i in passage_ids}

    def _stems(self, terms: list[str]) -> dict[str, str]:
        """Each word as the index's tokenizer stores it (porter stem), via a scratch FTS5 table."""
        self.db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.scratch USING fts5(t, tokenize='{TOKENIZER}')")
        self.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.scratch_vocab USING fts5vocab('temp', 'scratch', 'instance')")
        self.db.execute("DELETE FROM temp.scratch")
        self.db.executemany("INSERT INTO temp.scratch(rowid, t) VALUES (?, ?)", list(enumerate(terms, 1)))
        rows = self.db.execute("SELECT doc, term FROM temp.scratch_vocab").fetchall()
        self.db.execute("DELETE FROM temp.scratch")
        return {terms[doc - 1]: term for doc, term in rows}

    def dense_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids [N], vectors [N, D] float32), cached until the index changes."""
        version = int(self.db.execute("PRAGMA data_version").fetchone()[0])
        if self._dense_cache is None or self._dense_cache[0] != version:
            rows = self.db.execute("SELECT passage_id, vector FROM embeddings ORDER BY passage_id").fetchall()
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            if rows:
                matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16)
                matrix = matrix.reshape(len(rows), -1).astype(np.float32)
            else:
                matrix = np.zeros((0, 1), dtype=np.float32)
            self._dense_cache = (version, ids, matrix)
        return self._dense_cache[1], self._dense_cache[2]

    def describe(self) -> str:
        return json.dumps(self.stats().to_dict())


def _embedding_text(passage: Passage) -> str:
    return f"{passage.heading}: {passage.text}" if passage.heading else passage.text
