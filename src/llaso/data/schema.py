"""The LLaSO sample format, read and written, and its one mapping to chat messages.

A sample is `{"conversations": [{"from": "human"|"gpt"|"system", "value": "...<audio>..."}],
"voice": [paths], ...}`; every `<audio>` placeholder takes the next path of `voice`, in order,
across turns. Files are JSON arrays or JSON Lines. Training, evaluation and inference all go
through `sample_to_messages` / `messages_to_sample`, so the format is decided here only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from llaso.atomic import atomic_path
from llaso.data.jsonstream import RawRecord, scan_records
from llaso.errors import LlasoError, PlaceholderMismatchError

AUDIO_PLACEHOLDER = "<audio>"
ROLE_FROM = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
             "system": "system"}
FROM_ROLE = {"user": "human", "assistant": "gpt", "system": "system"}
SAMPLE_FILE_SUFFIXES = (".json", ".jsonl")


class SampleFormatError(LlasoError, ValueError):
    """A record that does not follow the LLaSO sample format; names the record and why."""


def iter_raw(path: str | os.PathLike) -> Iterator[RawRecord]:
    """Every record of a JSON array / JSON Lines file, broken ones included (see jsonstream)."""
    path = Path(path)
    if not path.is_file():
        raise LlasoError(f"{path}: no such file")
    return scan_records(path)


def iter_samples(path: str | os.PathLike) -> Iterator[dict]:
    """Stream the samples of a JSON array or JSON Lines file.

    Raises SampleFormatError at the first broken record, naming the file, record and line
    (use `llaso data validate` to list every problem).
    """
    for record in iter_raw(path):
        if record.error:
            raise SampleFormatError(f"{path}: record {record.index} (line {record.line}): {record.error}")
        if not isinstance(record.value, dict):
            raise SampleFormatError(
                f"{path}: record {record.index} (line {record.line}): expected a JSON object, "
                f"got {type(record.value).__name__}"
            )
        yield record.value


def sample_files(path: str | os.PathLike) -> list[Path]:
    """A file itself, or the .json/.jsonl files under a folder (sorted, recursive; hidden
    files and folders and manifest.json excluded)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in SAMPLE_FILE_SUFFIXES
                       and p.is_file() and p.name != "manifest.json"
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not files:
            raise LlasoError(f"{path}: no .json or .jsonl files in this folder")
        return files
    raise LlasoError(f"{path}: no such file or folder")


def looks_like_samples(file: str | os.PathLike) -> bool:
    """In folder mode, a file whose first record parses and has no 'conversations' is another
    kind of JSON (statistics, judge verdicts); callers skip it and say so."""
    for record in scan_records(file):
        return not (record.ok and isinstance(record.value, dict)
                    and "conversations" not in record.value)
    return True


def write_samples(path: str | os.PathLike, samples: Iterable[dict], *, jsonl: bool | None = None) -> int:
    """Write samples atomically (temp file + rename); JSON Lines for .jsonl, else a JSON array.

    The array is written one record per line, so a reader can resynchronise after damage.
    Returns the number of samples written.
    """
    path = Path(path)
    if jsonl is None:
        jsonl = path.suffix == ".jsonl"
    count = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        if not jsonl:
            out.write("[")
        for sample in samples:
            line = json.dumps(sample, ensure_ascii=False)
            if jsonl:
                out.write(line + "\n")
            else:
                out.write(("\n" if count == 0 else ",\n") + line)
            count += 1
        if not jsonl:
            out.write("\n]\n")
    return count


def normalise_audio_path(path: str) -> str:
    """Accept Windows separators: 'a\\b.wav' -> 'a/b.wav' (drive letters kept)."""
    if "\\" in path:
        return PureWindowsPath(path).as_posix()
    return path


def resolve_audio_path(path: str, audio_root: str | os.PathLike | None) -> str:
    """`path` with Windows separators normalised, joined to `audio_root` unless absolute."""
    norm = normalise_audio_path(path)
    if audio_root is None or PurePosixPath(norm).is_absolute() or PureWindowsPath(path).drive:
        return norm
    return os.path.normpath(os.path.join(os.fspath(audio_root), norm))


def sample_audio_paths(sample: dict) -> list[str]:
    """The sample's audio paths (`voice`; `audio`/`audios` accepted), as a list."""
    for key in ("voice", "audio", "audios"):
        if key in sample:
            value = sample[key]
            if value is None:
                return []
            if isinstance(value, str):
                return [value]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return list(value)
            raise SampleFormatError(f"{sample_label(sample)}: '{key}' must be a path or a list of paths")
    return []


def sample_label(sample: dict) -> str:
    for key in ("id", "index", "clip_id"):
        if key in sample:
            return f"sample {sample[key]}"
    return "sample"


def _turns(sample: dict) -> list[dict]:
    turns = sample.get("conversations")
    if not isinstance(turns, list) or not turns:
        raise SampleFormatError(f"{sample_label(sample)}: 'conversations' must be a non-empty list")
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict) or "from" not in turn or "value" not in turn:
            raise SampleFormatError(f"{sample_label(sample)}: turn {i} needs 'from' and 'value'")
        if turn["from"] not in ROLE_FROM:
            raise SampleFormatError(
                f"{sample_label(sample)}: turn {i} has from={turn['from']!r} "
                f"(expected one of {sorted(ROLE_FROM)})"
            )
        if not isinstance(turn["value"], str):
            raise SampleFormatError(f"{sample_label(sample)}: turn {i} value must be a string")
    return turns


def count_placeholders(sample: dict) -> int:
    return sum(t.get("value", "").count(AUDIO_PLACEHOLDER) for t in sample.get("conversations", [])
               if isinstance(t, dict) and isinstance(t.get("value"), str))


def sample_to_messages(sample: dict, audio_root: str | os.PathLike | None = None) -> list[dict]:
    """LLaSO sample -> chat messages, each `<audio>` replaced by an audio part in place.

    Turns without audio get plain-string content; turns with audio get a list of parts
    (`{"type": "text", "text": ...}`, `{"type": "audio", "path": ...}`). Paths resolve against
    `audio_root` (None: left as written, separators normalised).
    """
    turns = _turns(sample)
    paths = sample_audio_paths(sample)
    wanted = count_placeholders(sample)
    if wanted != len(paths):
        raise PlaceholderMismatchError(
            f"{sample_label(sample)}: {wanted} '<audio>' placeholder(s) but {len(paths)} audio path(s)"
        )
    messages = []
    next_audio = 0
    for turn in turns:
        role = ROLE_FROM[turn["from"]]
        value = turn["value"]
        if AUDIO_PLACEHOLDER not in value:
            messages.append({"role": role, "content": value})
            continue
        if role != "user":
            raise SampleFormatError(f"{sample_label(sample)}: audio placeholder in a {turn['from']} turn")
        parts: list[dict] = []
        for i, text in enumerate(value.split(AUDIO_PLACEHOLDER)):
            if i > 0:
                parts.append({"type": "audio",
                              "path": resolve_audio_path(paths[next_audio], audio_root)})
                next_audio += 1
            if text:
                parts.append({"type": "text", "text": text})
        messages.append({"role": role, "content": parts})
    return messages


def messages_to_sample(
    messages: list[dict],
    *,
    audio_root: str | os.PathLike | None = None,
    extra: dict[str, Any] | None = None,
) -> dict:
    """Chat messages -> LLaSO sample; inverse of `sample_to_messages`.

    Audio parts must carry a `path`; paths under `audio_root` are written relative to it
    (POSIX separators). `extra` fields (id, task, layout, ...) are placed first.
    """
    conversations = []
    voice: list[str] = []
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in FROM_ROLE:
            raise SampleFormatError(f"message {i}: role {role!r} is not system/user/assistant")
        content = message.get("content")
        if isinstance(content, str):
            conversations.append({"from": FROM_ROLE[role], "value": content})
            continue
        if not isinstance(content, list):
            raise SampleFormatError(f"message {i}: content must be a string or a list of parts")
        pieces = []
        for part in content:
            kind = part.get("type")
            if kind == "text":
                pieces.append(part.get("text", ""))
            elif kind == "audio":
                if "path" not in part:
                    raise SampleFormatError(
                        f"message {i}: an in-memory audio part has no path; write it to a file first"
                    )
                voice.append(_relative_audio_path(os.fspath(part["path"]), audio_root))
                pieces.append(AUDIO_PLACEHOLDER)
            else:
                raise SampleFormatError(f"message {i}: unknown content part type {kind!r}")
        conversations.append({"from": FROM_ROLE[role], "value": "".join(pieces)})
    sample: dict[str, Any] = dict(extra or {})
    sample["conversations"] = conversations
    sample["voice"] = voice
    return sample


def _relative_audio_path(path: str, audio_root: str | os.PathLike | None) -> str:
    if audio_root is None:
        return normalise_audio_path(path)
    root = os.path.abspath(os.fspath(audio_root))
    absolute = os.path.abspath(normalise_audio_path(path))
    relative = os.path.relpath(absolute, root)
    return PurePosixPath(*Path(relative).parts).as_posix()


# The one rule for what a sample asks and what it expects: the reference is the sample's last
# assistant turn; every turn before it is the prompt (a two-turn sample's first answer included,
# as the model would have given it). Running, scoring and training all split samples this way.

def _reference_index(turns: list) -> int | None:
    for index in range(len(turns) - 1, -1, -1):
        turn = turns[index]
        if isinstance(turn, dict) and turn.get("from") in ("gpt", "assistant"):
            return index
    return None


def reference_text(sample: dict) -> str | None:
    """The reference answer: the last assistant (`gpt`) turn's text, or None without one."""
    turns = sample.get("conversations")
    if not isinstance(turns, list):
        return None
    index = _reference_index(turns)
    value = turns[index].get("value") if index is not None else None
    return value if isinstance(value, str) else None


def question_text(sample: dict) -> str:
    """The last human turn before the reference (what a judge is shown as the question)."""
    turns = sample.get("conversations")
    if not isinstance(turns, list):
        return ""
    end = _reference_index(turns)
    for turn in reversed(turns[: end if end is not None else len(turns)]):
        if isinstance(turn, dict) and turn.get("from") in ("human", "user") and isinstance(turn.get("value"), str):
            return turn["value"]
    return ""


def prompt_and_reference(sample: dict, audio_root: str | os.PathLike | None = None) -> tuple[list[dict], str | None]:
    """(the chat messages to answer, the reference answer or None) of a sample."""
    messages = sample_to_messages(sample, audio_root)
    reference = None
    if messages and messages[-1]["role"] == "assistant":
        content = messages.pop()["content"]
        reference = content if isinstance(content, str) else "".join(
            p.get("text", "") for p in content if isinstance(p, dict))
    if not any(m["role"] == "user" for m in messages):
        raise SampleFormatError(f"{sample_label(sample)}: no user turn to answer")
    return messages, reference
