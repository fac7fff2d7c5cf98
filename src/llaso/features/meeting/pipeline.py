"""`run_meeting`: a recording -> MeetingReport (transcript, speakers, summary, decisions,
action items, tone per turn).

One streamed pass over the audio: each VAD piece is transcribed (Whisper, word timestamps)
and its speech embedded for speaker clustering as it passes; then words are given speakers,
sentences are searched for decisions and action items, the LLM summarises the transcript
chunk by chunk (map-reduce), and the LSLM is asked about the voice of each turn, re-reading
only that turn's audio from the file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llaso.errors import LlasoError
from llaso.features.meeting.actions import (
    ActionItem,
    Utterance,
    extract_action_items,
    extract_decisions,
    split_sentences,
    split_when,
)
from llaso.features.meeting.diarize import DISTANCE_THRESHOLD, SpeakerTurn, WindowCollector, diarize, speaker_at
from llaso.features.meeting.report import MeetingReport, MeetingTurn, Tone
from llaso.inference.subtitles import Segment

DEFAULT_TONE_QUESTION = "What emotion does the speaker express? Choose from neutral, happy, sad, angry, or surprised."
SUMMARY_CHUNK_WORDS = 350
EXTRACTORS = ("rules", "model")


@dataclass
class MeetingOptions:
    speakers: int | None = None  # known number of speakers (None: found by a distance threshold)
    summary: bool = True
    tone: bool = True
    tone_question: str = DEFAULT_TONE_QUESTION
    max_tone_turns: int = 60  # the longest turns are asked first; the rest are marked not asked
    min_tone_seconds: float = 1.0
    extractor: str = "rules"
    distance_threshold: float = DISTANCE_THRESHOLD
    batch_size: int = 8
    max_new_tokens: int = 96

    def __post_init__(self) -> None:
        if self.speakers is not None and self.speakers < 1:
            raise LlasoError("--speakers must be at least 1")
        if self.extractor not in EXTRACTORS:
            raise LlasoError(f"unknown extractor {self.extractor!r}; choose from {', '.join(EXTRACTORS)}")


Progress = Callable[[str, float, float], None]  # (stage, done, total)


def attribute(segments: list[Segment], turns: list[SpeakerTurn]) -> list[Segment]:
    """Give every segment a speaker; a segment whose words change speaker is split there."""
    out: list[Segment] = []
    for segment in segments:
        if not segment.words:
            out.append(segment.with_speaker(speaker_at(turns, segment.start, segment.end)))
            continue
        run: list = []
        who = None
        for word in segment.words:
            speaker = speaker_at(turns, word.start, max(word.end, word.start + 0.01))
            if run and speaker != who:
                out.append(Segment(run[0].start, run[-1].end, " ".join(w.text for w in run), who, tuple(run)))
                run = []
            run.append(word)
            who = speaker
        if run:
            start = segment.start if not out or out[-1].end <= segment.start else run[0].start
            text = segment.text if len(run) == len(segment.words) else " ".join(w.text for w in run)
            out.append(Segment(min(start, run[0].start), max(run[-1].end, min(segment.end, run[-1].end + 0.5)),
                               text, who, tuple(run)))
    return out


def merge_turns(segments: list[Segment], max_gap: float = 2.0) -> list[MeetingTurn]:
    """Consecutive segments of one speaker -> one turn."""
    turns: list[MeetingTurn] = []
    for s in segments:
        speaker = s.speaker or "SPEAKER_?"
        if turns and turns[-1].speaker == speaker and s.start - turns[-1].end <= max_gap:
            turns[-1].end = max(turns[-1].end, s.end)
            turns[-1].text = f"{turns[-1].text} {s.text}".strip()
        else:
            turns.append(MeetingTurn(s.start, s.end, speaker, s.text))
    return turns


def speaker_table(turns: list[MeetingTurn]) -> list[dict]:
    table: dict[str, dict] = {}
    for t in turns:
        row = table.setdefault(t.speaker, {"id": t.speaker, "turns": 0, "seconds": 0.0})
        row["turns"] += 1
        row["seconds"] = round(row["seconds"] + (t.end - t.start), 2)
    return list(table.values())


def transcript_chunks(turns: list[MeetingTurn], words: int = SUMMARY_CHUNK_WORDS) -> list[str]:
    """`SPEAKER: text` lines, grouped into chunks of about `words` words."""
    chunks, current, count = [], [], 0
    for t in turns:
        line = f"{t.speaker}: {t.text}"
        current.append(line)
        count += len(t.text.split())
        if count >= words:
            chunks.append("\n".join(current))
            current, count = [], 0
    if current:
        chunks.append("\n".join(current))
    return chunks


def summarise(model: Any, turns: list[MeetingTurn], max_new_tokens: int = 96) -> str | None:
    """Map: a few sentences per transcript chunk. Reduce: one summary of those notes."""
    from llaso.generation.sampling import SamplingParams

    chunks = transcript_chunks(turns)
    if not chunks:
        return None
    params = SamplingParams(max_new_tokens=max_new_tokens)
    asks = [[{"role": "user", "content": f"Here is part of a meeting transcript:\n\n{chunk}\n\n"
              "Summarise what was discussed in two sentences."}] for chunk in chunks]
    notes = [r.text.strip() for r in model.chat_batch(asks, params, batch_size=4) if r.text]
    if len(notes) <= 1:
        return notes[0] if notes else None
    joined = "\n".join(f"- {n}" for n in notes)
    final = model.chat([{"role": "user", "content": "These are notes on consecutive parts of one meeting:\n\n"
                         f"{joined}\n\nWrite a short summary of the whole meeting."}], params)
    return final.strip() or joined


def model_action_items(model: Any, turns: list[MeetingTurn], max_new_tokens: int = 128) -> list[ActionItem]:
    """Ask the LLM for `WHO | TASK | DEADLINE` lines per transcript chunk (for stronger checkpoints)."""
    from llaso.generation.sampling import SamplingParams

    items: list[ActionItem] = []
    chunks = transcript_chunks(turns)
    asks = [[{"role": "user", "content": f"Meeting transcript:\n\n{chunk}\n\nList every action item, one per line, "
              "as: WHO | TASK | DEADLINE. Write NONE if there are no action items."}] for chunk in chunks]
    for _chunk, result in zip(chunks, model.chat_batch(asks, SamplingParams(max_new_tokens=max_new_tokens), batch_size=4)):
        for line in (result.text or "").splitlines():
            parts = [p.strip(" -*") for p in line.split("|")]
            if len(parts) < 2 or not parts[1] or parts[1].upper() == "TASK":
                continue
            task, when = split_when(parts[1])
            deadline = parts[2] if len(parts) > 2 and parts[2] and parts[2].lower() not in ("none", "-", "n/a") else when
            at = next((t.start for t in turns if task.split()[0].lower() in t.text.lower()), turns[0].start if turns else 0.0)
            items.append(ActionItem(parts[0] or None, task, deadline, None, at, line.strip(), by="model"))
    return items


def ask_tone(model: Any, recording: Any, turns: list[MeetingTurn], options: MeetingOptions) -> int:
    """Fill `turn.tone` for the longest turns; returns how many were asked."""
    from llaso.audio.stream import read_span
    from llaso.generation.sampling import SamplingParams
    from llaso.inference.api import user_message

    budget = getattr(model.processor, "max_audio_seconds", 30.0)
    chosen = sorted((t for t in turns if t.end - t.start >= options.min_tone_seconds),
                    key=lambda t: t.end - t.start, reverse=True)[: options.max_tone_turns]
    if not chosen:
        return 0
    conversations = []
    for turn in chosen:
        audio = read_span(recording, turn.start, min(turn.end, turn.start + min(30.0, budget)))
        conversations.append([user_message(options.tone_question, audio)])
    results = model.chat_batch(conversations, SamplingParams(max_new_tokens=16), batch_size=options.batch_size)
    asked = 0
    for turn, result in zip(chosen, results):
        if result.text:
            turn.tone = Tone(options.tone_question, result.text.strip())
            asked += 1
    return asked


def run_meeting(recording: Any, *, model: Any = None, transcriber: Any = None, options: MeetingOptions | None = None,
                progress: Progress | None = None) -> MeetingReport:
    """The full report for `recording` (a path, bytes or array). Without `model`, the report
    has no summary and no tone; transcript, speakers, decisions and action items remain."""
    from llaso.features.meeting.speakers import SpeakerEncoder
    from llaso.inference.transcribe import WhisperTranscriber, source_name

    options = options or MeetingOptions()
    began = time.perf_counter()
    transcriber = transcriber or WhisperTranscriber.from_pretrained()
    name = source_name(recording)
    duration, pieces = transcriber.pieces(recording, name=name, whole_if_short=False)
    collector = WindowCollector(SpeakerEncoder())
    segments: list[Segment] = []
    queue = []

    def flush() -> None:
        previous = segments[-1].end if segments else 0.0
        for found in transcriber.decode_pieces(queue, word_timestamps=True, previous_end=previous):
            segments.extend(found)
        queue.clear()

    for piece in pieces:
        collector.add(piece)
        queue.append(piece)
        if len(queue) >= options.batch_size:
            flush()
            if progress:
                progress("transcribing", piece.end, duration)
    if queue:
        flush()
    if progress:
        progress("transcribing", duration, duration)
    speaker_turns = diarize(collector, speakers=options.speakers, threshold=options.distance_threshold)
    segments = attribute(segments, speaker_turns)
    turns = merge_turns(segments)
    utterances: list[Utterance] = []
    for s in segments:
        utterances += split_sentences(s.start, s.end, s.speaker, s.text, list(s.words) if s.words else None)
    decisions = extract_decisions(utterances)
    backend = getattr(transcriber.backend, "name", "whisper")
    methods = {
        "transcript": f"Whisper tiny.en via {backend}, VAD pieces of at most 30 s, word timestamps",
        "speakers": "Resemblyzer voice embeddings, agglomerative clustering"
                    + (f" into {options.speakers} speakers" if options.speakers else " (count found by threshold)"),
        "decisions": "phrase rules on the transcript",
    }
    action_items = extract_action_items(utterances)
    methods["action items"] = "phrase rules on the transcript"
    summary = None
    if model is not None:
        label = getattr(getattr(model, "model", None), "name_or_path", None) or "the loaded model"
        if options.extractor == "model":
            action_items = model_action_items(model, turns)
            methods["action items"] = f"asked of {label} per transcript chunk"
        if options.summary:
            if progress:
                progress("summarising", 0, 1)
            summary = summarise(model, turns, options.max_new_tokens)
            methods["summary"] = f"{label}, map-reduce over {len(transcript_chunks(turns))} transcript chunks"
        if options.tone:
            if progress:
                progress("listening for tone", 0, 1)
            asked = ask_tone(model, recording, turns, options)
            methods["tone"] = f"{label} asked about the audio of {asked} of {len(turns)} turns"
    return MeetingReport(recording=name, duration=duration, speakers=speaker_table(turns), turns=turns,
                         segments=segments, decisions=decisions, action_items=action_items, summary=summary,
                         methods=methods, seconds=time.perf_counter() - began)
