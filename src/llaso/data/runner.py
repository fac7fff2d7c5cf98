"""Answer every sample of a LLaSO-format file with any answering function, resumably.

The one batch runner behind `llaso run` and `llaso eval run`. Every finished batch is appended
to a journal (JSON Lines, flushed to disk) before the next starts, keyed by the sample's
position and a fingerprint of what it asks. A killed run restarts from its journal with no
sample lost or repeated, and because batches keep their boundaries and decoding is greedy,
with the same answers as an uninterrupted run; a sample edited since is answered again.
The output (the samples with an `answer`, or an `error`) is written atomically at the end.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llaso.atomic import write_text_atomic
from llaso.errors import LlasoError

log = logging.getLogger(__name__)

ANSWER_KEY = "answer"
ERROR_KEY = "error"


@dataclass
class Answer:
    """One sample's answer, or why it has none."""

    text: str | None
    error: str | None = None


AnswerBatch = Callable[[Sequence[list[dict[str, Any]]]], list[Answer]]
"""Conversations (chat messages up to the answer) -> one Answer each, in order."""


class Journal:
    """Answers of one file by record position, appended batch by batch and fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.answers: dict[int, dict[str, Any]] = {}
        if path.exists():
            self._load()

    def _load(self) -> None:
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]  # a kill mid-write leaves a partial last line
        if len(complete) != len(data):
            with self.path.open("r+b") as handle:
                handle.truncate(len(complete))
        for line in complete.decode("utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s: skipping a damaged journal line", self.path)
                continue
            self.answers[int(entry["position"])] = entry

    def append(self, entries: Sequence[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
            handle.flush()
            os.fsync(handle.fileno())
        for entry in entries:
            self.answers[int(entry["position"])] = entry


def record_key(record: dict[str, Any]) -> str:
    """A short fingerprint of what a sample asks, so a journal never answers an edited sample."""
    asked = json.dumps([record.get("conversations"), record.get("voice")], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(asked.encode()).hexdigest()[:16]


def answered_positions(records: Sequence[dict[str, Any]], journal: Journal) -> set[int]:
    return {i for i, record in enumerate(records)
            if i in journal.answers and journal.answers[i].get("key") == record_key(record)}


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def answer_batch(records: Sequence[dict[str, Any]], batch: Sequence[int], answer: AnswerBatch,
                 audio_root: str | os.PathLike | None) -> list[dict[str, Any]]:
    """Journal entries for the records at `batch`; a sample that cannot be read fails alone."""
    from llaso.data.schema import prompt_and_reference

    entries: dict[int, dict[str, Any]] = {}
    conversations: list[list[dict[str, Any]]] = []
    asked: list[int] = []
    for position in batch:
        try:
            conversations.append(prompt_and_reference(records[position], audio_root)[0])
            asked.append(position)
        except LlasoError as exc:
            entries[position] = {"position": position, ANSWER_KEY: None, ERROR_KEY: str(exc)}
    if conversations:
        for position, result in zip(asked, answer(conversations), strict=True):
            entries[position] = {"position": position, ANSWER_KEY: result.text, ERROR_KEY: result.error}
    for position in batch:
        entries[position]["key"] = record_key(records[position])
    return [entries[p] for p in batch]


def answer_records(records: Sequence[dict[str, Any]], answer: AnswerBatch, journal: Journal, *,
                   audio_root: str | os.PathLike | None, batch_size: int = 8,
                   on_batch: Callable[[int], None] | None = None) -> int:
    """Answer the records the journal lacks, batch by batch; returns how many were answered now.
    `on_batch(n)` is told after each batch (a progress bar)."""
    done = answered_positions(records, journal)
    pending = [i for i in range(len(records)) if i not in done]
    for batch in _chunks(pending, max(1, batch_size)):
        journal.append(answer_batch(records, batch, answer, audio_root))
        if on_batch is not None:
            on_batch(len(batch))
    return len(pending)


def answered_records(records: Sequence[dict[str, Any]], journal: Journal) -> list[dict[str, Any]]:
    """The records with their journal's `answer`, or an `error` (and no answer) where the
    sample failed, so a failure is never scored as an empty answer."""
    out = []
    for position, record in enumerate(records):
        entry = journal.answers[position]
        written = {k: v for k, v in record.items() if k not in (ANSWER_KEY, ERROR_KEY)}
        if entry.get(ERROR_KEY):
            written[ERROR_KEY] = entry[ERROR_KEY]
        else:
            written[ANSWER_KEY] = entry[ANSWER_KEY]
        out.append(written)
    return out


def write_answers(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    """JSON Lines for `.jsonl`, else a JSON array with one record per line (readable by any JSON
    parser and resynchronisable after damage); atomic."""
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    text = "\n".join(lines) + "\n" if path.suffix == ".jsonl" else "[\n" + ",\n".join(lines) + "\n]\n"
    write_text_atomic(path, text)
    return path


def journal_path(output: Path) -> Path:
    """Where the journal of an output file lives: `.journal/<name>.jsonl` beside it."""
    return output.parent / ".journal" / f"{output.name}.jsonl"
