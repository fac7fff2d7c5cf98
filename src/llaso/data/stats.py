"""Corpus statistics: samples per task and layout, audio durations, text and token lengths.

Streams the files; durations come from audio headers (each distinct file read once), and
audio token counts use the default rate of 12.5 audio tokens per second (Whisper's 50 frames
per second stacked by 4), rounded up per clip.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from llaso.data.file_names import sample_task_layout
from llaso.data.schema import (
    iter_raw,
    looks_like_samples,
    reference_text,
    resolve_audio_path,
    sample_files,
)

AUDIO_TOKENS_PER_SECOND = 12.5


@dataclass
class _Summary:
    """Running count, total, minimum and maximum (constant memory)."""

    count: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)

    def to_dict(self, digits: int = 2) -> dict:
        if not self.count:
            return {"count": 0}
        return {"count": self.count, "total": round(self.total, digits),
                "mean": round(self.total / self.count, digits),
                "min": round(self.low, digits), "max": round(self.high, digits)}


def _words(text: str) -> int:
    return len(text.replace("<audio>", " ").split())


def corpus_stats(path: str | os.PathLike, *, audio_root: str | None = None,
                 with_audio: bool = True) -> dict:
    """Statistics of a file or a folder of LLaSO sample files (see module doc)."""
    tasks: Counter = Counter()
    layouts: Counter = Counter()
    splits: Counter = Counter()
    engines: Counter = Counter()
    durations = _Summary()
    audio_tokens = _Summary()
    prompt_words = _Summary()
    answer_words = _Summary()
    clips_per_sample: Counter = Counter()
    durations_seen: dict[str, float | None] = {}
    broken = 0
    missing_audio = 0
    samples = 0
    files = sample_files(path)
    skipped = []
    if len(files) > 1 or not Path(path).is_file():
        skipped = [str(f) for f in files if not looks_like_samples(f)]
        files = [f for f in files if str(f) not in skipped]
    for file in files:
        stem = Path(file).stem
        root = audio_root if audio_root is not None else str(Path(file).parent)
        for record in iter_raw(file):
            if record.error or not isinstance(record.value, dict):
                broken += 1
                continue
            sample = record.value
            samples += 1
            task, layout = sample_task_layout(sample, stem)
            tasks[task or "unknown"] += 1
            layouts[layout.value if layout else "unknown"] += 1
            if stem.endswith("_test"):
                splits["test"] += 1
            elif stem.endswith("_train"):
                splits["train"] += 1
            tts = sample.get("tts")
            for info in tts if isinstance(tts, list) else [tts] if tts else []:
                if isinstance(info, dict) and "engine" in info:
                    engines[info["engine"]] += 1
            turns = [t for t in sample.get("conversations", []) if isinstance(t, dict)]
            prompt = " ".join(str(t.get("value", "")) for t in turns if t.get("from") in ("human", "user"))
            prompt_words.add(_words(prompt))
            answer = reference_text(sample)
            if isinstance(answer, str):
                answer_words.add(_words(answer))
            voice = sample.get("voice") or []
            voice = [voice] if isinstance(voice, str) else voice
            clips_per_sample[len(voice)] += 1
            if not with_audio:
                continue
            for audio in voice:
                if not isinstance(audio, str):
                    continue
                resolved = resolve_audio_path(audio, root)
                if resolved not in durations_seen:
                    durations_seen[resolved] = _duration(resolved)
                seconds = durations_seen[resolved]
                if seconds is None:
                    missing_audio += 1
                    continue
                durations.add(seconds)
                audio_tokens.add(math.ceil(seconds * AUDIO_TOKENS_PER_SECOND))
    result = {
        "samples": samples,
        "files": len(files),
        "tasks": dict(sorted(tasks.items())),
        "layouts": dict(sorted(layouts.items())),
        "splits": dict(sorted(splits.items())),
        "clips_per_sample": {str(k): v for k, v in sorted(clips_per_sample.items())},
        "prompt_words": prompt_words.to_dict(),
        "answer_words": answer_words.to_dict(),
        "broken_records": broken,
        "skipped_files": skipped,
    }
    if engines:
        result["tts_engines"] = dict(sorted(engines.items()))
    if with_audio:
        result["audio"] = {
            "clips": durations.count,
            "hours": round(durations.total / 3600, 3),
            "seconds": durations.to_dict(),
            "audio_tokens": audio_tokens.to_dict(0),
            "missing_or_unreadable": missing_audio,
        }
    return result


def _duration(path: str) -> float | None:
    import soundfile as sf

    try:
        info = sf.info(path)
    except Exception:  # missing or unreadable: counted, not fatal for statistics
        return None
    return info.frames / info.samplerate if info.samplerate > 0 else None


def format_stats(stats: dict) -> str:
    lines = [f"{stats['samples']} samples in {stats['files']} file(s)"
             + (f" ({stats['broken_records']} broken records skipped)" if stats["broken_records"] else "")]
    if stats.get("skipped_files"):
        lines.append(f"skipped {len(stats['skipped_files'])} file(s) without LLaSO samples")
    lines.append("tasks:   " + ", ".join(f"{k} {v}" for k, v in stats["tasks"].items()))
    lines.append("layouts: " + ", ".join(f"({k}) {v}" for k, v in stats["layouts"].items()))
    if stats.get("splits"):
        lines.append("splits:  " + ", ".join(f"{k} {v}" for k, v in stats["splits"].items()))
    if stats.get("tts_engines"):
        lines.append("engines: " + ", ".join(f"{k} {v}" for k, v in stats["tts_engines"].items()))
    p, a = stats["prompt_words"], stats["answer_words"]
    if p.get("count"):
        lines.append(f"prompt words: mean {p['mean']}, max {p['max']}; "
                     f"answer words: mean {a.get('mean', 0)}, max {a.get('max', 0)}")
    audio = stats.get("audio")
    if audio:
        s = audio["seconds"]
        if s.get("count"):
            lines.append(f"audio: {audio['clips']} clips, {audio['hours']} h; seconds min {s['min']}, "
                         f"mean {s['mean']}, max {s['max']}; audio tokens mean "
                         f"{audio['audio_tokens']['mean']}, max {audio['audio_tokens']['max']}")
        if audio["missing_or_unreadable"]:
            lines.append(f"audio missing or unreadable: {audio['missing_or_unreadable']} reference(s)")
    return "\n".join(lines)
