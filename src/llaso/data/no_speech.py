"""Clips without speech, and the answer an assistant owes them: that it heard no speech.

Given five seconds of silence, a model trained only on speech answers with invented words.
These samples pair silence, hum, hiss and noise bursts (of several lengths and levels) with
the questions people ask about speech, and a reply that says so instead of guessing.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from llaso.data.schema import AUDIO_PLACEHOLDER

TASK = "NOSPEECH"
SAMPLING_RATE = 16_000
REPLY = "I can't hear any speech in this recording."
QUESTIONS = (
    "Transcribe the audio.", "What is the speaker saying?", "What is the speaker asking?",
    "Summarise what you hear.", "Answer the question in the recording.", "Reply to the speaker.",
    "Listen to the audio and respond accordingly.", "What was said?", "Respond to the request in this recording.",
)


def no_speech_clip(rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """(float32 samples at 16 kHz, what it is): silence, hum, hiss, pink-ish noise or clicks."""
    seconds = float(rng.choice([0.05, 0.3, 1.0, 2.5, 5.0, 8.0]))
    n = max(1, int(seconds * SAMPLING_RATE))
    kind = str(rng.choice(["silence", "hum", "hiss", "noise", "clicks"]))
    t = np.arange(n) / SAMPLING_RATE
    level = float(10 ** (rng.uniform(-60, -15) / 20))
    if kind == "silence":
        clip = rng.normal(0, 1e-5, n)
    elif kind == "hum":
        clip = np.sin(2 * np.pi * float(rng.choice([50, 60, 100, 120])) * t)
    elif kind == "hiss":
        clip = rng.normal(0, 1, n)
    elif kind == "noise":
        clip = np.cumsum(rng.normal(0, 1, n))
        clip = clip - np.convolve(clip, np.ones(64) / 64, mode="same")
    else:
        clip = np.zeros(n)
        clip[rng.integers(0, n, size=max(1, n // 4000))] = 1.0
    peak = float(np.max(np.abs(clip))) or 1.0
    return (clip / peak * level).astype(np.float32), kind


def no_speech_samples(count: int, audio_dir: str | os.PathLike, json_dir: str | os.PathLike, seed: int,
                      split: str = "train") -> list[dict]:
    """`count` samples whose clips are written under `audio_dir` (paths relative to `json_dir`)."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    audio_dir = Path(audio_dir)
    audio_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for index in range(count):
        clip, kind = no_speech_clip(rng)
        path = audio_dir / f"{split}_{index:06d}.wav"
        sf.write(path, clip, SAMPLING_RATE, subtype="PCM_16")
        question = QUESTIONS[int(rng.integers(len(QUESTIONS)))]
        out.append({
            "id": f"{TASK}_ta_{split}_{index:06d}", "task": TASK, "layout": "t,a",
            "conversations": [{"from": "human", "value": question + AUDIO_PLACEHOLDER}, {"from": "gpt", "value": REPLY}],
            "voice": [os.path.relpath(path, json_dir)], "meta": {"text": "", "clip": kind},
        })
    return out
