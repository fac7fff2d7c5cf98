"""Timed transcript segments and the formats people read them in: text, SRT, WebVTT, JSON.

One `Segment` type is what `llaso transcribe`, the server's transcription route and the meeting
report all pass around, so a subtitle written by one is read the same by the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

FORMATS = ("text", "json", "srt", "vtt")


@dataclass(frozen=True)
class Segment:
    """`text` spoken from `start` to `end` seconds into the recording (`speaker` when known)."""

    start: float
    end: float
    text: str
    speaker: str | None = None

    def __post_init__(self) -> None:
        if not (0.0 <= self.start <= self.end):
            raise ValueError(f"a segment needs 0 <= start <= end, got {self.start}..{self.end}")

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


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
