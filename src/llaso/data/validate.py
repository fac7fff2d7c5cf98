"""Check LLaSO sample files: every problem counted by kind, the first few located exactly.

Streams each file (constant memory whatever its size) and checks JSON syntax, the
conversation structure (roles, order, empty turns), placeholders against audio paths,
duplicate ids, and the audio itself (present, decodable header, duration in range). An audio
file shared by many samples is checked once.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from llaso.data.schema import (
    AUDIO_PLACEHOLDER,
    ROLE_FROM,
    iter_raw,
    looks_like_samples,
    resolve_audio_path,
    sample_files,
)

# kind -> what it means (also the order of the report)
PROBLEM_KINDS = {
    "invalid_json": "the file is not valid JSON / JSON Lines at this record",
    "not_object": "a record that is not a JSON object",
    "bad_conversations": "'conversations' missing, empty, or with malformed turns",
    "bad_role": "a turn whose 'from' is not human/gpt/system",
    "role_order": "turns not in the order [system] human gpt (human gpt)...",
    "empty_turn": "a turn with an empty value",
    "bad_voice": "'voice' is not a path or a list of paths",
    "placeholder_mismatch": "the number of <audio> placeholders differs from the number of audio paths",
    "missing_audio": "an audio path that does not exist",
    "undecodable_audio": "an audio file that cannot be decoded",
    "duration_out_of_range": "an audio clip shorter or longer than the allowed range",
    "duplicate_id": "an id used by an earlier record",
}


@dataclass
class Problem:
    kind: str
    file: str
    index: int
    line: int
    sample_id: str | None
    detail: str

    def location(self) -> str:
        where = f"{self.file}:{self.index} (line {self.line}"
        return where + (f", id {self.sample_id})" if self.sample_id is not None else ")")


@dataclass
class ValidationReport:
    files: int = 0
    records: int = 0
    valid: int = 0
    audio_checked: int = 0
    skipped_files: list[str] = field(default_factory=list)  # folder mode: not sample files
    file_names: list[str] = field(default_factory=list)  # validated files, in order
    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[Problem]] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def to_dict(self) -> dict:
        return {
            "files": self.files, "records": self.records, "valid": self.valid,
            "audio_checked": self.audio_checked, "errors": self.errors,
            "skipped_files": self.skipped_files,
            "counts": dict(self.counts),
            "examples": {k: [p.__dict__ for p in v] for k, v in self.examples.items()},
        }

    def format(self) -> str:
        lines = [f"{self.files} file(s), {self.records} record(s), {self.valid} valid, "
                 f"{self.audio_checked} audio file(s) checked: "
                 + ("OK" if self.ok else f"{self.errors} problem(s)")]
        for kind in PROBLEM_KINDS:
            if self.counts.get(kind):
                lines.append(f"  {kind}: {self.counts[kind]}  ({PROBLEM_KINDS[kind]})")
                for problem in self.examples.get(kind, []):
                    lines.append(f"    {problem.location()}: {problem.detail}")
        if self.skipped_files:
            lines.append(f"  skipped {len(self.skipped_files)} file(s) that hold no LLaSO samples "
                         "(first record has no 'conversations'):")
            lines.extend(f"    {name}" for name in self.skipped_files[:10])
        return "\n".join(lines)


@dataclass
class ValidateOptions:
    audio_root: str | None = None  # None: each file's own folder
    check_audio: bool = True
    decode: bool = False  # decode every clip fully instead of reading its header
    min_seconds: float = 0.1
    max_seconds: float = 120.0
    max_examples: int = 5
    global_ids: bool = False  # ids unique across all files (default: within each file)


class _AudioChecker:
    """Checks each distinct audio path once; returns (kind, detail) or None."""

    def __init__(self, options: ValidateOptions) -> None:
        self.options = options
        self.seen: dict[str, tuple[str, str] | None] = {}

    def check(self, path: str) -> tuple[str, str] | None:
        if path in self.seen:
            return self.seen[path]
        result = self._check(path)
        if len(self.seen) < 2_000_000:
            self.seen[path] = result
        return result

    def _check(self, path: str) -> tuple[str, str] | None:
        import soundfile as sf

        if not os.path.isfile(path):
            return "missing_audio", f"{path}: file not found"
        try:
            if self.options.decode:
                from llaso.audio import load_audio

                samples = load_audio(path, max_seconds=None)
                seconds = samples.size / 16_000
            else:
                info = sf.info(path)
                if info.samplerate <= 0 or info.frames <= 0:
                    return "undecodable_audio", f"{path}: no audio frames"
                seconds = info.frames / info.samplerate
        except Exception as exc:  # soundfile/AudioError: any failure means undecodable
            return "undecodable_audio", f"{path}: {exc}"
        low, high = self.options.min_seconds, self.options.max_seconds
        if not low <= seconds <= high:
            return "duration_out_of_range", f"{path}: {seconds:.2f} s (allowed {low:g}-{high:g} s)"
        return None


def check_sample(sample: dict) -> list[tuple[str, str]]:
    """Structural problems of one sample (no audio access): [(kind, detail)]."""
    problems: list[tuple[str, str]] = []
    turns = sample.get("conversations")
    if not isinstance(turns, list) or not turns:
        return [("bad_conversations", "'conversations' must be a non-empty list")]
    roles = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict) or "from" not in turn or "value" not in turn:
            problems.append(("bad_conversations", f"turn {i} needs 'from' and 'value'"))
            return problems
        if turn["from"] not in ROLE_FROM:
            problems.append(("bad_role", f"turn {i} has from={turn['from']!r}"))
            return problems
        if not isinstance(turn["value"], str):
            problems.append(("bad_conversations", f"turn {i}: value is not a string"))
            return problems
        if not turn["value"].strip():
            problems.append(("empty_turn", f"turn {i} ({turn['from']}) is empty"))
        roles.append(ROLE_FROM[turn["from"]])
    body = roles[1:] if roles[0] == "system" else roles
    expected = ["user", "assistant"] * (len(body) // 2 + 1)
    if not body or body != expected[: len(body)] or body[-1] != "assistant":
        problems.append(("role_order", f"roles {[t['from'] for t in turns]}"))
    voice = sample.get("voice", sample.get("audio", sample.get("audios", [])))
    if isinstance(voice, str):
        voice = [voice]
    if voice is None:
        voice = []
    if not isinstance(voice, list) or not all(isinstance(v, str) for v in voice):
        problems.append(("bad_voice", "'voice' must be a path or a list of paths"))
        return problems
    placeholders = sum(t["value"].count(AUDIO_PLACEHOLDER) for t in turns)
    if placeholders != len(voice):
        problems.append(("placeholder_mismatch",
                         f"{placeholders} '<audio>' placeholder(s), {len(voice)} audio path(s)"))
    return problems


def validate_path(
    path: str | os.PathLike,
    options: ValidateOptions | None = None,
    *,
    on_record: Callable[[int], None] | None = None,
) -> ValidationReport:
    """Validate a file or every .json/.jsonl file under a folder."""
    options = options or ValidateOptions()
    report = ValidationReport()
    checker = _AudioChecker(options)
    seen_ids: dict[str, tuple[int, int]] = {}
    files = sample_files(path)
    single = len(files) == 1 and Path(path).is_file()
    for file in files:
        if not single and not looks_like_samples(file):
            report.skipped_files.append(str(file))
            continue
        report.files += 1
        if not options.global_ids:
            seen_ids = {}
        _validate_file(file, options, report, checker, seen_ids, on_record)
    report.audio_checked = len(checker.seen)
    return report


def _validate_file(file: Path, options: ValidateOptions, report: ValidationReport,
                   checker: _AudioChecker, seen_ids: dict[str, tuple[int, int]],
                   on_record: Callable[[int], None] | None) -> None:
    root = options.audio_root if options.audio_root is not None else str(file.parent)
    label = str(file)
    report.file_names.append(label)

    def add(kind: str, index: int, line: int, sample_id, detail: str) -> None:
        report.counts[kind] += 1
        examples = report.examples.setdefault(kind, [])
        if len(examples) < options.max_examples:
            examples.append(Problem(kind, label, index, line, sample_id, detail))

    for record in iter_raw(file):
        report.records += 1
        if on_record is not None:
            on_record(1)
        if record.error:
            add("invalid_json", record.index, record.line, None, record.error)
            continue
        sample = record.value
        if not isinstance(sample, dict):
            add("not_object", record.index, record.line, None,
                f"expected an object, got {type(sample).__name__}")
            continue
        sample_id = sample.get("id")
        problems = check_sample(sample)
        if sample_id is not None:
            key = str(sample_id)
            if key in seen_ids:
                first_file, first_index = seen_ids[key]
                problems.append(("duplicate_id", f"id {key!r} first used at "
                                                 f"{report.file_names[first_file]}:{first_index}"))
            else:
                seen_ids[key] = (len(report.file_names) - 1, record.index)
        if options.check_audio and not any(k == "bad_voice" for k, _ in problems):
            voice = sample.get("voice", sample.get("audio", sample.get("audios", []))) or []
            for audio in [voice] if isinstance(voice, str) else voice:
                result = checker.check(resolve_audio_path(audio, root))
                if result:
                    problems.append(result)
        for kind, detail in problems:
            add(kind, record.index, record.line, sample_id, detail)
        if not problems:
            report.valid += 1
