"""The LSLM on audio longer than its window budget: segment, ask each part, combine (map-reduce).

An LSLM hears at most `processor.settings.max_audio_windows` windows of 30 s (llaso-tiny: 4,
so 2 minutes; the official LLaSO-Base pads every clip to one window). With
`long_audio="map_reduce"`, a conversation whose audio is longer is answered in two steps:

- map: the recording is streamed and cut at silences (`llaso.audio.vad`) into parts of at most
  `part_seconds` (default 30 s, never more than the budget); the same conversation is asked
  with each part in place of the long audio, in batches;
- reduce: the answers, labelled with their times, are combined into one, either by the model
  (a text-only turn: "the question was ..., the answers per part were ..., combine them"),
  hierarchically when they do not fit one prompt, or, for transcription-like questions, by
  joining them in order (`combine="auto"` picks; `"model"` and `"join"` force one).

`long_audio="error"` (the API's default and fidelity mode's behaviour) keeps the official one:
audio over the budget is refused with the limit named.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from llaso.audio import SAMPLING_RATE
from llaso.errors import AudioError, LlasoError

LONG_AUDIO = ("error", "map_reduce")
COMBINE = ("auto", "model", "join")
WINDOW_SECONDS = 30.0
REDUCE_WORDS = 900  # answers per reduce prompt (SmolLM2's context is 8k tokens; leave room)
_TRANSCRIBE = re.compile(r"\b(transcri\w*|write down|verbatim|what (?:is|are|was|were) (?:being )?said|word for word|dictat\w*)\b",
                         re.IGNORECASE)

Messages = list[dict[str, Any]]


@dataclass
class PartAnswer:
    start: float
    end: float
    text: str


@dataclass
class LongformAnswer:
    """The combined `text`, the per-part answers it came from, and how it was made."""

    text: str
    parts: list[PartAnswer] = field(default_factory=list)
    budget_seconds: float = 0.0
    audio_seconds: float = 0.0
    strategy: str = "map_reduce"
    combine: str = "model"


def check_long_audio(value: str) -> str:
    if value not in LONG_AUDIO:
        raise LlasoError(f"long_audio must be one of {', '.join(LONG_AUDIO)}, got {value!r}")
    return value


def budget_seconds(model: Any) -> float:
    """The longest audio one conversation may carry: the processor's window budget."""
    settings = model.processor.settings
    return float(settings.max_audio_windows) * WINDOW_SECONDS


def _audio_source(part: dict[str, Any]) -> tuple[Any, int | None]:
    nested = part.get("input_audio")
    if isinstance(nested, dict):
        import base64

        return base64.b64decode(nested.get("data") or ""), None
    if part.get("path") is not None:
        return part["path"], None
    for key in ("audio", "data", "array"):
        if part.get(key) is not None:
            return part[key], part.get("sampling_rate")
    raise LlasoError("an audio part needs 'path' or 'audio' (bytes or a numpy array)")


def audio_parts(messages: Messages) -> Iterator[tuple[int, int, Any, int | None]]:
    """(message index, part index, source, sampling rate) of every audio part."""
    for m, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for p, part in enumerate(content):
            if isinstance(part, dict) and part.get("type") in ("audio", "input_audio"):
                source, rate = _audio_source(part)
                yield m, p, source, rate


def long_parts(messages: Messages, budget: float) -> list[tuple[int, int, Any, int | None, float]]:
    """The audio parts longer than `budget` seconds, with their durations (from headers)."""
    from llaso.audio.stream import AudioStream

    found = []
    for m, p, source, rate in audio_parts(messages):
        name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
        seconds = AudioStream(source, source_rate=rate, name=name).duration
        if seconds > budget + 1e-6:
            found.append((m, p, source, rate, seconds))
    return found


def _question(messages: Messages, m: int) -> str:
    content = messages[m].get("content")
    texts = [str(part.get("text", "")) for part in content if isinstance(part, dict) and part.get("type") == "text"]
    texts += [part for part in content if isinstance(part, str)]
    return " ".join(t.strip() for t in texts if t.strip()) or "Describe the audio."


def _with_part(messages: Messages, m: int, p: int, samples) -> Messages:
    copy = [dict(message) for message in messages]
    content = list(copy[m]["content"])
    content[p] = {"type": "audio", "audio": samples, "sampling_rate": SAMPLING_RATE}
    copy[m]["content"] = content
    return copy


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes:02d}:{secs:02d}"


def map_parts(model: Any, messages: Messages, where: tuple[int, int, Any, int | None], params: Any, *,
              part_seconds: float, batch_size: int = 4,
              progress: Callable[[float, float], None] | None = None) -> Iterator[PartAnswer]:
    """The map step: each part of the long audio, in the conversation's place, answered."""
    from llaso.audio.stream import AudioStream
    from llaso.audio.vad import SileroVad, VadSettings, segment_speech

    m, p, source, rate = where
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
    stream = AudioStream(source, source_rate=rate, name=name)
    settings = VadSettings(max_piece=part_seconds)
    batch: list = []

    def ask() -> Iterator[PartAnswer]:
        results = model.chat_batch([_with_part(messages, m, p, piece.samples) for piece in batch], params,
                                   batch_size=batch_size)
        for piece, result in zip(batch, results):
            if result.error:
                raise LlasoError(f"part {_clock(piece.start)}-{_clock(piece.end)}: {result.error}")
            yield PartAnswer(round(piece.start, 3), round(piece.end, 3), (result.text or "").strip())
        if progress is not None and batch:
            progress(batch[-1].end, stream.duration)
        batch.clear()

    for piece in segment_speech(stream, settings, SileroVad().frames):
        batch.append(piece)
        if len(batch) >= batch_size:
            yield from ask()
    if batch:
        yield from ask()


def reduce_prompt(question: str, parts: list[PartAnswer]) -> Messages:
    answers = "\n".join(f"[{_clock(a.start)}-{_clock(a.end)}] {a.text}" for a in parts)
    return [{"role": "user", "content":
             "A recording was too long to hear at once, so it was cut into parts and the question was "
             f"asked about each part.\n\nQuestion: {question}\n\nAnswers for each part:\n{answers}\n\n"
             "Combine them into one answer to the question about the whole recording."}]


def _groups(parts: list[PartAnswer], words: int) -> list[list[PartAnswer]]:
    groups: list[list[PartAnswer]] = [[]]
    count = 0
    for part in parts:
        size = len(part.text.split()) + 4
        if groups[-1] and count + size > words:
            groups.append([])
            count = 0
        groups[-1].append(part)
        count += size
    return groups


def reduce_parts(model: Any, question: str, parts: list[PartAnswer], params: Any) -> Messages:
    """Combine answers until one prompt holds them all; returns that last prompt (so the
    caller can stream its answer)."""
    level = [a for a in parts if a.text]
    while True:
        groups = _groups(level, REDUCE_WORDS)
        if len(groups) <= 1:
            return reduce_prompt(question, level)
        answers = model.chat_batch([reduce_prompt(question, g) for g in groups], params, batch_size=4)
        level = [PartAnswer(g[0].start, g[-1].end, (r.text or "").strip()) for g, r in zip(groups, answers)]


def choose_combine(question: str, combine: str) -> str:
    if combine not in COMBINE:
        raise LlasoError(f"combine must be one of {', '.join(COMBINE)}, got {combine!r}")
    if combine != "auto":
        return combine
    return "join" if _TRANSCRIBE.search(question) else "model"


def prepare(model: Any, messages: Messages, params: Any, *, part_seconds: float | None = None,
            combine: str = "auto", batch_size: int = 4,
            progress: Callable[[float, float], None] | None = None) -> tuple[LongformAnswer, Messages | None]:
    """Run the map step; returns the answer so far and the reduce prompt still to ask (None
    when the audio fits the budget, or when the parts are joined)."""
    budget = budget_seconds(model)
    found = long_parts(messages, budget)
    if not found:
        return LongformAnswer("", budget_seconds=budget, strategy="direct"), None
    if len(found) > 1:
        raise LlasoError(f"{len(found)} audio parts are longer than the model's {budget:g} s budget; "
                         "map-reduce splits one long recording per conversation")
    m, p, source, rate, seconds = found[0]
    size = min(part_seconds or WINDOW_SECONDS, budget)
    if size < 1.0:
        raise AudioError(str(source) if isinstance(source, (str, os.PathLike)) else "<audio>",
                         f"the model's audio budget ({budget:g} s) is too small to map-reduce")
    question = _question(messages, m)
    how = choose_combine(question, combine)
    parts = list(map_parts(model, messages, (m, p, source, rate), params, part_seconds=size,
                           batch_size=batch_size, progress=progress))
    answer = LongformAnswer("", parts, budget_seconds=budget, audio_seconds=seconds, combine=how)
    if how == "join" or len(parts) <= 1:
        answer.text = " ".join(a.text for a in parts if a.text)
        return answer, None
    return answer, reduce_parts(model, question, parts, params)


def answer_long(model: Any, messages: Messages, params: Any, **options: Any) -> LongformAnswer:
    """Map-reduce when the audio is over the budget; a plain answer when it fits."""
    answer, final = prepare(model, messages, params, **options)
    if answer.strategy == "direct":
        answer.text = model.chat(messages, params)
    elif final is not None:
        answer.text = model.chat(final, params).strip()
    return answer


def stream_long(model: Any, messages: Messages, params: Any, **options: Any) -> Iterator[str]:
    """As `answer_long`, streaming the final step's text (the map step runs first)."""
    answer, final = prepare(model, messages, params, **options)
    if answer.strategy == "direct":
        yield from model.stream_chat(messages, params)
    elif final is None:
        yield answer.text
    else:
        yield from model.stream_chat(final, params)
