"""Scripted meetings with known truth: the evaluation set for `llaso meeting`.

Each meeting is a script of turns by 2-4 participants, spoken by different TTS voices and
engines (Piper, flite, festival, espeak-ng), with pauses, some overlapping turns and noise
(sox), plus its labels: every turn's speaker and time, the decisions, and the action items
(who, what, when, and the second it was said). Written as `NAME.wav`, `NAME.json` (script
and labels) and `NAME.rttm` (reference speaker turns, the diarisation standard).

    python -m llaso.features.meeting.scripted OUT_DIR --meetings 4 --minutes 3 6 10 20

Phrasings are drawn from several templates per kind and mixed with everyday sentences from
WordNet, so an extractor cannot pass by matching one wording; real meetings are messier
still, which is why the report says which parts a model or a rule produced.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from llaso.audio import SAMPLING_RATE

NAMES = ("Alice", "Ben", "Chloe", "David", "Emma", "Frank", "Grace", "Henry")
TOPICS = ("the website redesign", "the quarterly budget", "the customer survey", "the hiring plan",
          "the product launch", "the office move", "the training programme", "the security audit",
          "the mobile app", "the supplier contract")
TASKS = ("send the draft to the client", "update the project plan", "book a room for the workshop",
         "review the budget numbers", "call the supplier about the delay", "write up the survey results",
         "prepare the slides for the board", "check the contract with legal", "set up the test server",
         "share the notes with the team", "order the new laptops", "fix the login bug",
         "draft the job advert", "collect quotes from the movers", "test the payment page")
WHENS = ("by Friday", "tomorrow morning", "next week", "before the next meeting", "by the end of the month",
         "on Monday", "this afternoon", "by Thursday", "next Tuesday")
DECISIONS = ("move the launch to June", "keep the current supplier", "hire two more engineers",
             "cut the travel budget by ten percent", "run the survey again in the spring",
             "use the smaller venue", "delay the redesign until the audit is done",
             "switch to weekly status calls", "drop the tablet version for now")

OPENERS = ("Okay, let's get started.", "Thanks everyone for joining.", "Shall we begin?",
           "Right, let's start with the first item.")
DISCUSSION = ("I think {topic} is going quite well.", "The main problem with {topic} is the timeline.",
              "What do you all think about {topic}?", "I'm not sure we have enough budget for {topic}.",
              "We had some good feedback on {topic} last week.", "Can we talk about {topic} for a minute?",
              "I had a look at {topic} yesterday and it needs more work.",
              "Honestly, {topic} has been harder than we expected.",
              "The team is happy with how {topic} is going.", "Let's move on to {topic}.")
REACTIONS = ("Yes, I agree.", "That makes sense.", "Hmm, I'm not so sure.", "Good point.", "Right.",
             "I see what you mean.", "Could you say more about that?", "That's a fair concern.")
SELF_ACTIONS = ("I'll {what} {when}.", "I can {what} {when}.", "I will {what} {when}.",
                "Let me {what} {when}.", "I'm going to {what} {when}.")
ASSIGNED_ACTIONS = ("{name}, could you {what} {when}?", "{name}, can you {what} {when}?",
                    "{name} will {what} {when}.", "Could you {what} {when}, {name}?")
ACCEPTS = ("Sure, I can do that.", "Yes, no problem.", "Okay, will do.", "Fine, I'll take care of it.")
DECISION_LINES = ("So we agreed to {what}.", "Okay, so the decision is to {what}.",
                  "Then let's {what}.", "We've decided to {what}.", "Alright, we will {what}.")
CLOSERS = ("I think that's everything for today.", "Thanks everyone, see you next time.",
           "Great, let's wrap up there.")

# Voices per participant slot: a different engine or timbre each, so speakers differ as people do.
VOICE_POOL = ("piper:joe", "flite:slt", "espeak-ng:en-gb-scotland+m3", "festival:kal_diphone",
              "flite:awb", "espeak-ng:en-us+f2", "espeak-ng:en+m1", "flite:rms", "espeak-ng:en-029+f4")
FAST_VOICES = ("espeak-ng:en-us+m3", "flite:slt", "espeak-ng:en-gb-scotland+f2", "flite:awb")


@dataclass
class Turn:
    speaker: str
    text: str
    start: float = 0.0
    end: float = 0.0


@dataclass
class ActionItem:
    who: str
    what: str
    when: str | None
    said_by: str
    at: float = 0.0  # seconds into the recording where it was said
    turn: int = 0


@dataclass
class Decision:
    what: str
    said_by: str
    at: float = 0.0
    turn: int = 0


@dataclass
class ScriptedMeeting:
    name: str
    participants: dict[str, str]  # name -> voice id
    turns: list[Turn]
    decisions: list[Decision] = field(default_factory=list)
    action_items: list[ActionItem] = field(default_factory=list)
    duration: float = 0.0
    noise: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ScriptedMeeting:
        return cls(data["name"], dict(data["participants"]), [Turn(**t) for t in data["turns"]],
                   [Decision(**d) for d in data.get("decisions", [])],
                   [ActionItem(**a) for a in data.get("action_items", [])],
                   float(data.get("duration", 0.0)), dict(data.get("noise", {})))

    @property
    def transcript(self) -> str:
        return " ".join(t.text for t in self.turns)


def _pick(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(len(items)))]


def pick_voices(rng: np.random.Generator, voices: Sequence[str], count: int) -> list[str]:
    """`count` voices of different people: espeak-ng's variants share one synthesiser (a speaker
    encoder hears them as one person), so at most one of them per meeting when others remain."""
    order = [voices[int(i)] for i in rng.permutation(len(voices))]
    chosen: list[str] = []
    for voice in order:
        if voice.startswith("espeak-ng:") and any(v.startswith("espeak-ng:") for v in chosen):
            continue
        chosen.append(voice)
    for voice in order:  # too few other engines: allow a second espeak-ng voice
        if len(chosen) >= count:
            break
        if voice not in chosen:
            chosen.append(voice)
    if len(chosen) < count:
        raise ValueError(f"{count} speakers need at least {count} voices, got {len(voices)}")
    return chosen[:count]


def write_script(name: str, rng: np.random.Generator, *, speakers: int, turns: int,
                 voices: Sequence[str] = VOICE_POOL, filler: Sequence[str] = ()) -> ScriptedMeeting:
    """A meeting script: who says what, with labelled decisions and action items (no audio yet)."""
    people = [str(p) for p in rng.choice(NAMES, size=speakers, replace=False)]
    meeting = ScriptedMeeting(name, dict(zip(people, pick_voices(rng, voices, speakers))), [])
    lines = meeting.turns
    chair = people[0]
    lines.append(Turn(chair, _pick(rng, OPENERS)))
    topics = list(rng.permutation(TOPICS))
    used_tasks: set[str] = set()
    current = chair
    while len(lines) < turns - 1:
        topic = topics[len(lines) % len(topics)]
        speaker = _pick(rng, [p for p in people if p != current]) if rng.random() < 0.85 else current
        roll = rng.random()
        if roll < 0.13 and len(used_tasks) < len(TASKS):
            what = _pick(rng, [t for t in TASKS if t not in used_tasks])
            used_tasks.add(what)
            when = _pick(rng, WHENS) if rng.random() < 0.85 else None
            when_text = when or ""
            if rng.random() < 0.5:
                text = _pick(rng, SELF_ACTIONS).format(what=what, when=when_text)
                who = speaker
            else:
                who = _pick(rng, [p for p in people if p != speaker])
                text = _pick(rng, ASSIGNED_ACTIONS).format(name=who, what=what, when=when_text)
            lines.append(Turn(speaker, " ".join(text.replace(" ?", "?").replace(" .", ".").split())))
            meeting.action_items.append(ActionItem(who, what, when, speaker, turn=len(lines) - 1))
            if who != speaker:
                lines.append(Turn(who, _pick(rng, ACCEPTS)))
        elif roll < 0.21:
            what = _pick(rng, DECISIONS)
            if any(d.what == what for d in meeting.decisions):
                continue
            lines.append(Turn(speaker, _pick(rng, DECISION_LINES).format(what=what)))
            meeting.decisions.append(Decision(what, speaker, turn=len(lines) - 1))
        elif roll < 0.5:
            lines.append(Turn(speaker, _pick(rng, REACTIONS)))
        elif roll < 0.75 or not filler:
            lines.append(Turn(speaker, _pick(rng, DISCUSSION).format(topic=topic)))
        else:  # everyday sentences: the vocabulary of a meeting is not only meeting words
            extra = " ".join(_pick(rng, filler) for _ in range(int(rng.integers(1, 3))))
            lines.append(Turn(speaker, extra))
        current = lines[-1].speaker
    lines.append(Turn(chair, _pick(rng, CLOSERS)))
    return meeting


def _voice(voice_id: str):
    from llaso.data.tts.base import Voice
    from llaso.data.tts.voices import voice_catalogue

    for voice in voice_catalogue():
        if voice.id == voice_id:
            return voice
    engine, _, name = voice_id.partition(":")
    return Voice(voice_id, engine, name, "Unknown", "Unknown", voice_id)


def _speak(text: str, voice_id: str, rate: float = 1.0) -> np.ndarray:
    import soxr

    from llaso.data.tts.registry import get_backend

    voice = _voice(voice_id)
    synthesis = get_backend(voice.engine).synthesize(text, voice, rate=rate)
    samples = synthesis.samples
    if synthesis.sampling_rate != SAMPLING_RATE:
        samples = soxr.resample(samples, synthesis.sampling_rate, SAMPLING_RATE, quality="HQ")
    samples = np.asarray(samples, np.float32)
    # trim the engine's own leading/trailing silence: the script sets the pauses
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    if loud.size:
        samples = samples[max(0, loud[0] - 160) : loud[-1] + 160]
    peak = float(np.max(np.abs(samples))) or 1.0
    return samples * (0.5 / peak)


def render_meeting(meeting: ScriptedMeeting, rng: np.random.Generator, *, overlap_probability: float = 0.08,
                   noise: str | None = "pink", snr_db: float = 25.0, progress: bool = False) -> np.ndarray:
    """Speak the script; fills in each turn's start/end and each label's time. Pauses of
    0.3-1.5 s between turns; some turns start before the previous one ends (overlap)."""
    from tqdm import tqdm

    from llaso.data.augment import active_rms, coloured_noise

    clips = []
    for turn in tqdm(meeting.turns, desc=f"speaking {meeting.name}", disable=not progress, leave=False):
        clips.append(_speak(turn.text, meeting.participants[turn.speaker], rate=float(rng.uniform(0.92, 1.08))))
    position = int(0.5 * SAMPLING_RATE)
    placed = []
    for index, (turn, clip) in enumerate(zip(meeting.turns, clips)):
        if index > 0:
            previous = meeting.turns[index - 1]
            if turn.speaker != previous.speaker and rng.random() < overlap_probability and len(clips[index - 1]) > SAMPLING_RATE:
                position -= int(rng.uniform(0.3, 0.8) * SAMPLING_RATE)  # talks over the end of the last turn
            else:
                position += int(rng.uniform(0.3, 1.5) * SAMPLING_RATE)
        turn.start = round(position / SAMPLING_RATE, 3)
        turn.end = round((position + len(clip)) / SAMPLING_RATE, 3)
        placed.append((position, clip))
        position += len(clip)
    total = position + int(0.7 * SAMPLING_RATE)
    audio = np.zeros(total, np.float32)
    for start, clip in placed:
        audio[start : start + len(clip)] += clip
    if noise:
        level = active_rms(audio) / (10 ** (snr_db / 20))
        audio += coloured_noise(noise, total, rng) * level
        meeting.noise = {"kind": noise, "snr_db": snr_db}
    peak = float(np.max(np.abs(audio))) or 1.0
    if peak > 0.99:
        audio *= 0.99 / peak
    meeting.duration = round(total / SAMPLING_RATE, 3)
    for item in meeting.action_items:
        item.at = meeting.turns[item.turn].start
    for decision in meeting.decisions:
        decision.at = meeting.turns[decision.turn].start
    return audio


def rttm(meeting: ScriptedMeeting) -> str:
    """Reference speaker turns in RTTM, one line per turn."""
    return "".join(f"SPEAKER {meeting.name} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
                   for t in meeting.turns)


def turns_for_minutes(minutes: float) -> int:
    """About 3.4 s of speech and pause per turn, on average."""
    return max(8, int(minutes * 60 / 3.4))


def build_meeting(out_dir: str | Path, name: str, *, minutes: float, speakers: int, seed: int,
                  voices: Sequence[str] = VOICE_POOL, noise: str | None = "pink", snr_db: float = 25.0,
                  use_filler: bool = True, progress: bool = False) -> ScriptedMeeting:
    """Write NAME.wav, NAME.json and NAME.rttm under `out_dir` (atomically); return the labels."""
    import soundfile as sf

    from llaso.atomic import atomic_path, write_json_atomic, write_text_atomic

    rng = np.random.default_rng(seed)
    filler: tuple[str, ...] = ()
    if use_filler:
        try:
            from llaso.data.text_sources.wordnet import wordnet_texts

            examples, _ = wordnet_texts(min_words=5, max_words=14)
            filler = tuple(examples[i] for i in rng.choice(len(examples), size=min(400, len(examples)), replace=False))
        except Exception:  # WordNet missing: meeting phrases only
            filler = ()
    meeting = write_script(name, rng, speakers=speakers, turns=turns_for_minutes(minutes), voices=voices,
                           filler=filler)
    audio = render_meeting(meeting, rng, noise=noise, snr_db=snr_db, progress=progress)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / f"{name}.wav", suffix=".wav") as tmp:
        sf.write(tmp, audio, SAMPLING_RATE, subtype="PCM_16")
    write_json_atomic(out / f"{name}.json", meeting.to_dict())
    write_text_atomic(out / f"{name}.rttm", rttm(meeting))
    return meeting


def load_meeting(path: str | Path) -> ScriptedMeeting:
    """The labels of a built meeting (its .json, or the .wav beside it)."""
    path = Path(path)
    return ScriptedMeeting.from_dict(json.loads(path.with_suffix(".json").read_text()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build scripted meetings with known truth.")
    parser.add_argument("out_dir")
    parser.add_argument("--minutes", type=float, nargs="+", default=[3, 6, 10, 20])
    parser.add_argument("--speakers", type=int, nargs="+", default=[2, 3, 4, 3])
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--fast", action="store_true", help="espeak-ng and flite voices only")
    args = parser.parse_args(argv)
    voices = FAST_VOICES if args.fast else VOICE_POOL
    for index, minutes in enumerate(args.minutes):
        speakers = args.speakers[index % len(args.speakers)]
        name = f"meeting{index + 1:02d}"
        meeting = build_meeting(args.out_dir, name, minutes=minutes, speakers=speakers, seed=args.seed + index,
                                voices=voices, progress=True)
        print(f"{name}: {meeting.duration / 60:.1f} min, {speakers} speakers, {len(meeting.turns)} turns, "
              f"{len(meeting.action_items)} action items, {len(meeting.decisions)} decisions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
