"""Timed transcript segments and the formats people read them in: text, SRT, WebVTT, JSON.

One `Segment` type is what `llaso transcribe`, the server's transcription route and the meeting
report all pass around, so a subtitle written by one is read the same by the others.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

FORMATS = ("text", "json", "srt", "vtt")


@dataclass(frozen=True)
class Word:
    """One word with its time (seconds into the recording) and the decoder's confidence."""

    start: float
    end: float
    text: str
    probability: float | None = None

    def __post_init__(self) -> None:
        if not (0.0 <= self.start <= self.end):
            raise ValueError(f"a word needs 0 <= start <= end, got {self.start}..{self.end}")


@dataclass(frozen=True)
class Segment:
    """`text` spoken from `start` to `end` seconds into the recording (`speaker` when known,
    `words` when word timestamps were asked for)."""

    start: float
    end: float
    text: str
    speaker: str | None = None
    words: tuple[Word, ...] | None = None

    def __post_init__(self) -> None:
        if not (0.0 <= self.start <= self.end):
            raise ValueError(f"a segment needs 0 <= start <= end, got {self.start}..{self.end}")

    def to_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if v is not None and k != "words"}
        if self.words is not None:
            out["words"] = [{k: v for k, v in asdict(w).items() if v is not None} for w in self.words]
        return out

    def with_speaker(self, speaker: str | None) -> Segment:
        return replace(self, speaker=speaker)

    @classmethod
    def from_dict(cls, data: dict) -> Segment:
        words = data.get("words")
        return cls(float(data["start"]), float(data["end"]), str(data["text"]), data.get("speaker"),
                   tuple(Word(float(w["start"]), float(w["end"]), str(w["text"]), w.get("probability"))
                         for w in words) if words is not None else None)


def timestamp(seconds: float, decimal: str = ",") -> str:
    """`HH:MM:SS,mmm` (SRT) or with `decimal="."` `HH:MM:SS.mmm` (WebVTT)."""
    millis = int(round(max(0.0, seconds) * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def _cue_text(segment: Segment) -> str:
    # A blank line ends a cue in both formats: fold the text onto non-empty lines.
    lines = [line.strip() for line in segment.text.splitlines() if line.strip()]
    text = "\n".join(lines) or "..."
    return f"{segment.speaker}: {text}" if segment.speaker else text


def to_srt(segments: Sequence[Segment]) -> str:
    cues = []
    for number, segment in enumerate(s for s in segments if s.text.strip()):
        cues.append(f"{number + 1}\n{timestamp(segment.start)} --> {timestamp(segment.end)}\n{_cue_text(segment)}\n")
    return "\n".join(cues)


def to_vtt(segments: Sequence[Segment]) -> str:
    cues = ["WEBVTT\n"]
    for segment in segments:
        if segment.text.strip():
            text = _cue_text(segment).replace("-->", "->")
            cues.append(f"{timestamp(segment.start, '.')} --> {timestamp(segment.end, '.')}\n{text}\n")
    return "\n".join(cues)


def to_text(segments: Sequence[Segment]) -> str:
    return " ".join(s.text.strip() for s in segments if s.text.strip())


def to_json(segments: Sequence[Segment], *, duration: float | None = None, source: str | None = None,
            language: str = "en") -> str:
    """OpenAI's `verbose_json` shape (text, duration, segments with ids, words when timed)."""
    kept = [s for s in segments if s.text.strip()]
    body: dict = {"task": "transcribe", "language": language}
    if source is not None:
        body["file"] = source
    if duration is not None:
        body["duration"] = round(duration, 3)
    body["text"] = to_text(kept)
    body["segments"] = [{"id": index, **segment.to_dict()} for index, segment in enumerate(kept)]
    if kept and all(s.words is not None for s in kept):
        body["words"] = [{"word": w.text, "start": w.start, "end": w.end} for s in kept for w in s.words or ()]
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


def render(segments: Sequence[Segment], fmt: str, **json_fields) -> str:
    """`segments` in one of FORMATS."""
    if fmt == "srt":
        return to_srt(segments)
    if fmt == "vtt":
        return to_vtt(segments)
    if fmt == "json":
        return to_json(segments, **json_fields)
    if fmt == "text":
        text = to_text(segments)
        return text + "\n" if text else ""
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
