"""Reading prediction files as released, damaged ones included.

Peer systems' files are sometimes truncated arrays or JSON Lines with stray lines. Every
readable record is kept with its position; every unreadable stretch or unusable record
becomes a `Problem` that the score report counts and lists. Nothing here raises on bad
content: only a missing or unreadable file is an error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llaso.errors import LlasoError

PREDICTION_KEYS = ("answer", "prediction", "result")


class PredictionFileError(LlasoError):
    """A prediction file or directory that cannot be read at all."""


@dataclass(frozen=True)
class Problem:
    """One record (or stretch of text) that could not be scored, and why."""

    file: str
    position: int | None  # record position in the file, or None for unparseable text
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "position": self.position, "reason": self.reason}


@dataclass
class LoadedFile:
    path: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)  # of records, in file order
    problems: list[Problem] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return self.path.name.split(".json")[0]


@dataclass(frozen=True)
class Sample:
    """A scoreable record: where it was, its prompt, reference and prediction."""

    position: int
    prompt: str
    reference: str
    prediction: str


def read_prediction_file(path: Path) -> LoadedFile:
    """All JSON objects in `path` (JSON array or JSON Lines), salvaging around damage."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PredictionFileError(f"{path}: cannot read ({exc})") from exc
    loaded = LoadedFile(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        objects, damaged = _json_lines(text) if not text.lstrip().startswith("[") else ([], [])
        if not objects:  # an array, or objects spread over several lines each
            objects, damaged = _salvage(text)
        for where in damaged:
            loaded.problems.append(Problem(path.name, None, f"unparseable JSON near line {where}"))
    else:
        objects = data if isinstance(data, list) else [data]
    for position, obj in enumerate(objects):
        if isinstance(obj, dict):
            loaded.records.append(obj)
            loaded.positions.append(position)
        else:
            loaded.problems.append(Problem(path.name, position, f"record is a {type(obj).__name__}, not an object"))
    return loaded


def _json_lines(text: str) -> tuple[list[Any], list[int]]:
    """One JSON value per line; each line that does not parse is one damaged record."""
    objects: list[Any] = []
    damaged: list[int] = []
    # Newlines only: splitlines() would also cut at U+0085 or U+2028 inside a record's text.
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            objects.append(json.loads(line))
        except json.JSONDecodeError:
            damaged.append(number)
    return objects, damaged


_RECORD_START = re.compile(r"^[ \t]*\{", re.MULTILINE)


def _salvage(text: str) -> tuple[list[Any], list[int]]:
    """Decode JSON values one after another, skipping array punctuation and damaged stretches.

    After damage, decoding resumes at the next line that opens an object at the same
    indentation as the first record, so a broken record's nested objects are not taken
    for records.
    """
    decoder = json.JSONDecoder()
    objects: list[Any] = []
    damaged: list[int] = []
    record_indent: str | None = None
    pos, end = 0, len(text)
    while pos < end:
        while pos < end and text[pos] in " \t\r\n[],":
            pos += 1
        if pos >= end:
            break
        try:
            obj, next_pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            damaged.append(text.count("\n", 0, pos) + 1)
            pos = _next_record_start(text, pos + 1, record_indent)
            continue
        if record_indent is None:
            line_start = text.rfind("\n", 0, pos) + 1
            record_indent = text[line_start:pos]
        objects.append(obj)
        pos = next_pos
    return objects, damaged


def _next_record_start(text: str, pos: int, indent: str | None) -> int:
    for match in _RECORD_START.finditer(text, pos):
        brace = match.end() - 1
        line_start = text.rfind("\n", 0, brace) + 1
        if indent is None or text[line_start:brace] == indent:
            return brace
    return len(text)


def majority_field(records: list[dict[str, Any]], key: str) -> str | None:
    """The most common non-empty string value of `key` across records (e.g. `task`), or None."""
    counts: dict[str, int] = {}
    for record in records:
        value = record.get(key)
        if isinstance(value, str) and value:
            counts[value] = counts.get(value, 0) + 1
    return max(counts, key=lambda v: counts[v]) if counts else None


def detect_prediction_key(records: list[dict[str, Any]]) -> str | None:
    """The one of `answer`, `prediction`, `result` that most records carry, or None."""
    counts = {key: sum(key in r for r in records) for key in PREDICTION_KEYS}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] else None


def reference_of(record: dict[str, Any]) -> str | None:
    """`conversations[1].value`, the reference answer, or None if the record lacks it."""
    conversations = record.get("conversations")
    if not isinstance(conversations, list) or len(conversations) < 2:
        return None
    turn = conversations[1]
    value = turn.get("value") if isinstance(turn, dict) else None
    return value if isinstance(value, str) else None


def prompt_of(record: dict[str, Any]) -> str:
    conversations = record.get("conversations")
    if isinstance(conversations, list) and conversations and isinstance(conversations[0], dict):
        value = conversations[0].get("value")
        if isinstance(value, str):
            return value
    return ""


def extract_samples(loaded: LoadedFile, prediction_key: str) -> tuple[list[Sample], list[Problem]]:
    """The records that have a reference and a string prediction; a Problem for each that does not."""
    samples: list[Sample] = []
    problems: list[Problem] = []
    name = loaded.path.name
    for position, record in zip(loaded.positions, loaded.records):
        reference = reference_of(record)
        prediction = record.get(prediction_key)
        if reference is None:
            problems.append(Problem(name, position, "no reference at conversations[1].value"))
        elif prediction_key not in record:
            problems.append(Problem(name, position, f"no {prediction_key!r} key"))
        elif not isinstance(prediction, str):
            reason = record.get("error") or f"{prediction_key!r} is {type(prediction).__name__}, not text"
            problems.append(Problem(name, position, f"no prediction: {reason}"))
        else:
            samples.append(Sample(position, prompt_of(record), reference, prediction))
    return samples, problems
