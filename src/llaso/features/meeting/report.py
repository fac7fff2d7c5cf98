"""The meeting report: one dataclass, written as JSON (for programs) and Markdown (for people)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from llaso.features.meeting.actions import ActionItem, Decision
from llaso.inference.subtitles import Segment


def clock(seconds: float) -> str:
    """`mm:ss`, or `h:mm:ss` past an hour."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


@dataclass
class Tone:
    """What the LSLM answered when asked about the voice of one turn (it hears the audio)."""

    question: str
    answer: str


@dataclass
class MeetingTurn:
    start: float
    end: float
    speaker: str
    text: str
    tone: Tone | None = None  # None: the model was not asked about this turn


@dataclass
class MeetingReport:
    recording: str
    duration: float
    speakers: list[dict]
    turns: list[MeetingTurn]
    segments: list[Segment]
    decisions: list[Decision]
    action_items: list[ActionItem]
    summary: str | None = None
    methods: dict = field(default_factory=dict)  # what produced each part (engine, rule, model)
    seconds: float = 0.0  # wall time of the whole run

    def to_dict(self) -> dict:
        return {
            "recording": self.recording,
            "duration": round(self.duration, 3),
            "seconds": round(self.seconds, 2),
            "methods": self.methods,
            "summary": self.summary,
            "decisions": [d.to_dict() for d in self.decisions],
            "action_items": [a.to_dict() for a in self.action_items],
            "speakers": self.speakers,
            "turns": [asdict(t) for t in self.turns],
            "segments": [s.to_dict() for s in self.segments],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    def to_markdown(self) -> str:
        name = Path(self.recording).name if self.recording else "recording"
        lines = [f"# Meeting report: {name}", "",
                 f"- Length: {clock(self.duration)} ({self.duration:.0f} s); {len(self.speakers)} speakers; "
                 f"{len(self.turns)} turns",
                 *(f"- {part.capitalize()}: {how}" for part, how in self.methods.items()), ""]
        lines += ["## Summary", "", self.summary or "_No summary: no model was asked (run with a model)._", ""]
        lines += ["## Decisions", ""]
        lines += [f"- {d.what} — said by {d.said_by or 'unknown'} at [{clock(d.at)}]: “{d.text}”" for d in self.decisions] \
            or ["_None found._"]
        lines += ["", "## Action items", ""]
        if self.action_items:
            lines += ["| Who | What | When | Said by | At |", "|---|---|---|---|---|"]
            lines += [f"| {_cell(a.who or 'unassigned')} | {_cell(a.what)} | {_cell(a.when or '—')} | "
                      f"{_cell(a.said_by or '?')} | {clock(a.at)} |" for a in self.action_items]
        else:
            lines += ["_None found._"]
        lines += ["", "## Speakers", ""]
        lines += [f"- {s['id']}: {s['turns']} turns, {clock(s['seconds'])} of speech" for s in self.speakers]
        lines += ["", "## Transcript", ""]
        for turn in self.turns:
            tone = f" _(tone, as the model heard it: {turn.tone.answer.strip()})_" if turn.tone else ""
            lines.append(f"**[{clock(turn.start)}] {turn.speaker}:** {turn.text}{tone}")
            lines.append("")
        asked = [t for t in self.turns if t.tone]
        if asked:
            lines += [f"_Tone: the speech-language model was asked “{asked[0].tone.question}” about the audio of "
                      f"{len(asked)} of {len(self.turns)} turns; it hears the voice, which a transcript loses. "
                      "Turns without a tone note were not asked._", ""]
        return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
