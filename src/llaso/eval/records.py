"""Reading prediction files as released, damaged ones included.

Peer systems' files are sometimes truncated arrays or JSON Lines with stray lines. Every
readable record is kept with its position; every unreadable stretch or unusable record
becomes a `Problem` that the score report counts and lists. Nothing here raises on bad
content: only a missing or unreadable file is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llaso.data.schema import question_text, reference_text
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
    """All JSON objects in `path` (JSON array or JSON Lines), salvaging around damage
    (the one tolerant reader, `llaso.data.jsonstream`)."""
    from llaso.data.jsonstream import scan_records

    if not path.is_file():
        raise PredictionFileError(f"{path}: cannot read (no such file)")
    loaded = LoadedFile(path)
    try:
        for record in scan_records(path):
            if record.error:
                if not (record.error.startswith("empty file") or "not closed with ']'" in record.error):
                    loaded.problems.append(Problem(path.name, None, f"unparseable JSON near line {record.line}"))
                continue
            position = len(loaded.records) + sum(p.position is not None for p in loaded.problems)
            if isinstance(record.value, dict):
                loaded.records.append(record.value)
                loaded.positions.append(position)
            else:
                loaded.problems.append(Problem(path.name, position,
                                               f"record is a {type(record.value).__name__}, not an object"))
    except OSError as exc:
        raise PredictionFileError(f"{path}: cannot read ({exc})") from exc
    return loaded


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




def extract_samples(loaded: LoadedFile, prediction_key: str) -> tuple[list[Sample], list[Problem]]:
    """The records that have a reference and a string prediction; a Problem for each that does not."""
    samples: list[Sample] = []
    problems: list[Problem] = []
    name = loaded.path.name
    for position, record in zip(loaded.positions, loaded.records):
        reference = reference_text(record)
        prediction = record.get(prediction_key)
        if reference is None:
            problems.append(Problem(name, position, "no reference (no gpt turn in conversations)"))
        elif prediction_key not in record and record.get("error"):
            problems.append(Problem(name, position, f"no prediction: {record['error']}"))
        elif prediction_key not in record:
            problems.append(Problem(name, position, f"no {prediction_key!r} key"))
        elif not isinstance(prediction, str):
            reason = record.get("error") or f"{prediction_key!r} is {type(prediction).__name__}, not text"
            problems.append(Problem(name, position, f"no prediction: {reason}"))
        else:
            samples.append(Sample(position, question_text(record), reference, prediction))
    return samples, problems
