"""Decisions and action items from a speaker-attributed transcript, by phrase rules.

Why rules by default: the embedded LLM (135M parameters) cannot reliably list who does what
by when, while commitments in meetings follow a few grammatical shapes ("I'll X by Friday",
"Ben, could you X?", "Chloe will X", "we agreed to X"). The rules are written for English
grammar, not for the scripted evaluation set's templates, and every item keeps the sentence
it came from and its time, so a reader can check it. A stronger checkpoint can be asked
instead (`extractor="model"` in `llaso.features.meeting.pipeline`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

WEEKDAYS = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_WHEN = re.compile(
    r"\b(?:(?:by|before|on|until|till|for)\s+(?:the\s+)?(?:end\s+of\s+(?:the\s+)?(?:day|week|month|quarter|year)"
    r"|next\s+\w+|this\s+\w+|" + WEEKDAYS + r"(?:\s+(?:morning|afternoon|evening))?|tomorrow(?:\s+(?:morning|afternoon|evening))?"
    r"|tonight|today|the\s+next\s+meeting|noon|lunch(?:time)?|\w+\s+\d{1,2}(?:st|nd|rd|th)?)"
    r"|(?:next|this)\s+(?:week|month|quarter|year|morning|afternoon|evening|" + WEEKDAYS + r")"
    r"|tomorrow(?:\s+(?:morning|afternoon|evening))?|tonight|today|later\s+today"
    r"|(?:the\s+)?end\s+of\s+(?:the\s+)?(?:day|week|month|quarter|year)"
    r"|in\s+(?:a|one|two|three|four|five|\d+)\s+(?:days?|weeks?|months?|hours?))\b",
    re.IGNORECASE)
_SELF = re.compile(r"\b(?:i'll|i\s+will|i\s+can|i'm\s+going\s+to|i\s+am\s+going\s+to|let\s+me|i'll\s+go\s+ahead\s+and)\s+(?P<what>.+)",
                   re.IGNORECASE)
_ASK_NAMED = re.compile(r"\b(?P<name>[A-Z][a-z]+),?\s+(?:could|can|would|will)\s+you\s+(?:please\s+)?(?P<what>.+)")
_ASK = re.compile(r"\b(?:could|can|would)\s+you\s+(?:please\s+)?(?P<what>.+?)(?:,\s*(?P<name>[A-Z][a-z]+))?\s*[?.!]*$",
                  re.IGNORECASE)
_THIRD = re.compile(r"\b(?P<name>[A-Z][a-z]+)\s+(?:will|is\s+going\s+to|is\s+gonna|has\s+agreed\s+to)\s+(?P<what>.+)")
_DECISION = re.compile(
    r"\b(?:we(?:'ve|\s+have)?\s+(?:agreed|decided)\s+(?:to|that|on)|(?:the\s+)?decision\s+is\s+(?:to|that)"
    r"|we(?:'re|\s+are)\s+going\s+with|let's\s+go\s+with|we(?:'ll|\s+will)|(?:then\s+|so\s+)let's|it's\s+decided,?)"
    r"\s+(?P<what>.+)", re.IGNORECASE)
_ACCEPT = re.compile(r"^\s*(?:sure|yes|yeah|yep|okay|ok|fine|no\s+problem|will\s+do|of\s+course|i\s+can|i'll)\b", re.IGNORECASE)
NOT_NAMES = {"the", "this", "that", "it", "we", "they", "everyone", "everybody", "nobody", "someone", "there", "which",
             "what", "he", "she", "you", "i", "then", "so", "and", "but", "who", "one", "team", "somebody", "here",
             "okay", "ok", "yes", "sure", "well", "now", "today", "tomorrow", "next", "how", "where", "when", "why"}
# Not commitments: talk about talk, and acceptances ("I can do that") that confirm an earlier request.
_NOT_TASKS = re.compile(r"^(?:see|say|think|imagine|guess|tell\s+you|agree|hear|understand|do\s+that|do\s+it|do\s+this|take\s+care\s+of\s+(?:it|that)"
                        r"|help|try|be\s+there|be\s+quick|start|begin|see\s+what|get\s+started|move\s+on|wrap\s+up"
                        r"|talk\s+about|come\s+back\s+to|just|also|probably|maybe|not)\b", re.IGNORECASE)
_NOT_DECISIONS = re.compile(r"^(?:get\s+started|move\s+on|start|begin|wrap\s+up|talk\s+about|take\s+a\s+(?:look|break)|see"
                            r"|come\s+back|continue|stop|have\s+a\s+look|say|think|probably|maybe)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Utterance:
    """A sentence with its speaker and time (seconds into the recording)."""

    start: float
    end: float
    speaker: str | None
    text: str


@dataclass
class ActionItem:
    who: str | None  # a name said in the meeting, or the speaker label of whoever committed
    what: str
    when: str | None
    said_by: str | None
    at: float
    text: str  # the sentence it came from
    by: str = "rules"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Decision:
    what: str
    said_by: str | None
    at: float
    text: str
    by: str = "rules"

    def to_dict(self) -> dict:
        return asdict(self)


def split_sentences(start: float, end: float, speaker: str | None, text: str,
                    words: list | None = None) -> list[Utterance]:
    """A timed segment -> sentences; times from its words when known, else shared by length."""
    parts = [p.strip() for p in re.split(r"(?<=[.?!])\s+", text.strip()) if p.strip()]
    if len(parts) <= 1:
        return [Utterance(start, end, speaker, text.strip())] if text.strip() else []
    out = []
    if words:
        cursor = 0
        for part in parts:
            count = len(part.split())
            chunk = words[cursor : cursor + count] or words[-1:]
            out.append(Utterance(chunk[0].start, chunk[-1].end, speaker, part))
            cursor += count
        return out
    total = sum(len(p) for p in parts)
    t = start
    for part in parts:
        span = (end - start) * len(part) / total
        out.append(Utterance(round(t, 3), round(t + span, 3), speaker, part))
        t += span
    return out


def split_when(phrase: str) -> tuple[str, str | None]:
    """'send the draft by Friday' -> ('send the draft', 'by Friday')."""
    found = list(_WHEN.finditer(phrase))
    if not found:
        return clean_what(phrase), None
    match = found[-1]
    when = match.group(0)
    rest = (phrase[: match.start()] + " " + phrase[match.end() :]).strip()
    return clean_what(rest), " ".join(when.split())


def clean_what(phrase: str) -> str:
    phrase = re.sub(r"\b(?:please|for\s+me|for\s+us)\b", " ", phrase, flags=re.IGNORECASE)
    phrase = re.sub(r"[\s,;:]+$", "", re.sub(r"[?.!]+$", "", phrase.strip()))
    return " ".join(phrase.split()).strip(" ,")


def _name(candidate: str | None) -> str | None:
    if candidate and candidate.lower() not in NOT_NAMES:
        return candidate
    return None


def extract_action_items(utterances: list[Utterance]) -> list[ActionItem]:
    """Commitments and requests, in order; a request to "you" goes to whoever accepts it next."""
    items: list[ActionItem] = []
    for index, u in enumerate(utterances):
        text = u.text.strip()
        who: str | None = None
        what: str | None = None
        named = _ASK_NAMED.search(text)
        asked = _ASK.search(text)
        third = _THIRD.search(text)
        own = _SELF.search(text)
        if named and _name(named.group("name")):
            who, what = named.group("name"), named.group("what")
        elif asked:
            what = asked.group("what")
            who = _name(asked.group("name"))
            if who is None:  # the next other speaker who says yes
                for later in utterances[index + 1 : index + 3]:
                    if later.speaker != u.speaker and _ACCEPT.search(later.text):
                        who = later.speaker
                        break
        elif third and _name(third.group("name")):
            who, what = third.group("name"), third.group("what")
        elif own:
            who, what = u.speaker, own.group("what")
        if not what:
            continue
        task, when = split_when(what)
        words = task.lower().split()
        if len(words) < 2 or _NOT_TASKS.match(task) or len(words) <= 3 and words[-1] in ("it", "that", "this", "so"):
            continue
        items.append(ActionItem(who, task, when, u.speaker, round(u.start, 3), text))
    return items


def extract_decisions(utterances: list[Utterance]) -> list[Decision]:
    decisions: list[Decision] = []
    for u in utterances:
        match = _DECISION.search(u.text)
        if not match:
            continue
        what = clean_what(match.group("what"))
        if len(what.split()) < 2 or _NOT_DECISIONS.match(what) or _SELF.search(u.text) and not re.search(r"\bwe\b", u.text, re.I):
            continue
        decisions.append(Decision(what, u.speaker, round(u.start, 3), u.text.strip()))
    return decisions
