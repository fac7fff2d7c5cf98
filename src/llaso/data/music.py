"""Synthesized musical notes with exact pitch (MIDI), instrument family, source and velocity.

NSynth-like labels made by construction: each family has its own spectrum, envelope and
playing range; the source decides how the tone is produced (acoustic: physical-model-like
plucks, inharmonic partials, breath noise and jitter; electronic: clean additive partials;
synthetic: raw oscillator waveforms through a filter). A preset number varies the timbre
within a family; presets with number % 5 == 0 are held out for the test split. Velocity sets
loudness (and brightness), so velocity clips are never normalised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llaso.data.tasks import INSTRUMENT_FAMILIES

RATE = 16_000
VELOCITIES = (25, 50, 75, 100, 127)
SOURCES = ("Acoustic", "Electronic", "Synthetic")

# family -> (lowest MIDI, highest MIDI, harmonic rolloff, attack s, decay s, sustain level, vibrato)
FAMILY_SHAPES: dict[str, tuple[int, int, float, float, float, float, float]] = {
    "Bass": (28, 55, 1.6, 0.01, 0.6, 0.5, 0.0),
    "Brass": (40, 77, 0.7, 0.06, 0.2, 0.85, 0.004),
    "Flute": (60, 96, 2.5, 0.08, 0.1, 0.9, 0.006),
    "Guitar": (40, 84, 1.2, 0.005, 1.2, 0.0, 0.0),
    "Keyboard": (36, 96, 1.4, 0.005, 1.5, 0.15, 0.0),
    "Mallet": (53, 101, 2.0, 0.002, 0.5, 0.0, 0.0),
    "Organ": (36, 96, 0.9, 0.02, 0.05, 1.0, 0.0),
    "Reed": (48, 84, 0.8, 0.04, 0.1, 0.9, 0.005),
    "String": (40, 96, 1.0, 0.15, 0.3, 0.85, 0.007),
    "Synth lead": (48, 96, 0.5, 0.01, 0.2, 0.8, 0.003),
    "Vocal": (45, 79, 1.3, 0.1, 0.2, 0.85, 0.01),
}


@dataclass(frozen=True)
class Note:
    family: str
    source: str
    midi: int
    velocity: int
    preset: int
    seconds: float = 3.0

    @property
    def frequency(self) -> float:
        return 440.0 * 2 ** ((self.midi - 69) / 12)


def preset_split(preset: int) -> str:
    return "test" if preset % 5 == 0 else "train"


def random_note(rng: np.random.Generator, split: str, *, family: str | None = None) -> Note:
    family = family or INSTRUMENT_FAMILIES[int(rng.integers(len(INSTRUMENT_FAMILIES)))]
    low, high = FAMILY_SHAPES[family][:2]
    while True:
        preset = int(rng.integers(0, 1000))
        if preset_split(preset) == split:
            break
    return Note(family, SOURCES[int(rng.integers(3))], int(rng.integers(low, high + 1)),
                VELOCITIES[int(rng.integers(len(VELOCITIES)))], preset)


def _envelope(n: int, attack: float, decay: float, sustain: float, seconds: float) -> np.ndarray:
    t = np.arange(n) / RATE
    env = np.minimum(t / max(attack, 1e-3), 1.0)
    after = np.clip(t - attack, 0, None)
    env *= sustain + (1 - sustain) * np.exp(-after / max(decay, 1e-3))
    release = np.clip((seconds - t) / 0.08, 0, 1)
    return env * release


def synthesize_note(note: Note) -> np.ndarray:
    """The note as float32 mono at 16 kHz; peak level follows velocity (127 -> about 0.9)."""
    rng = np.random.default_rng(note.preset * 1000 + FAMILY_SHAPES[note.family][0])
    _, _, rolloff, attack, decay, sustain, vibrato = FAMILY_SHAPES[note.family]
    rolloff *= rng.uniform(0.8, 1.25)
    n = int(note.seconds * RATE)
    t = np.arange(n) / RATE
    f0 = note.frequency
    loud = note.velocity / 127
    bright = 0.6 + 0.6 * loud  # harder playing: more upper partials
    vib = 1 + vibrato * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * t)
    phase = 2 * np.pi * f0 * np.cumsum(vib) / RATE
    max_harm = max(1, min(40, int(7000 / f0)))
    if note.source == "Synthetic":
        shape = rng.choice(["saw", "square"])
        k = np.arange(1, max_harm + 1)
        amps = 1.0 / k if shape == "saw" else np.where(k % 2 == 1, 1.0 / k, 0.0)
        amps = amps * np.exp(-k / (4 + 12 * bright))
        tone = sum(a * np.sin(h * phase) for h, a in zip(k, amps) if a > 0)
    else:
        tone = np.zeros(n)
        odd_bias = rng.uniform(0, 0.6) if note.family in ("Reed", "Flute") else 0.0
        stretch = 0.0004 if note.family in ("Keyboard", "Guitar", "Bass") else 0.0
        for h in range(1, max_harm + 1):
            amp = h ** (-rolloff / bright) * (1 - odd_bias * (h % 2 == 0))
            if note.family == "Mallet":
                ratio = (1.0, 2.76, 5.40, 8.93)[h - 1] if h <= 4 else None
                if ratio is None:
                    break
                partial_phase = phase * ratio
                part_env = np.exp(-t * (1.5 + 2.5 * h))
            else:
                ratio = h * np.sqrt(1 + stretch * h * h)
                partial_phase = phase * ratio
                part_env = np.exp(-t * 0.6 * h * (note.family in ("Guitar", "Keyboard", "Bass")))
            if note.source == "Acoustic":
                partial_phase = partial_phase + rng.uniform(0, 2 * np.pi)
                amp *= rng.uniform(0.7, 1.3)
            tone += amp * part_env * np.sin(partial_phase)
        if note.family == "Vocal":  # formant-like emphasis around 'ah'
            tone = np.convolve(tone, np.hanning(9) / 4.5, mode="same") + 0.3 * tone
    env = _envelope(n, attack, decay, sustain, note.seconds)
    audio = tone * env
    if note.source == "Acoustic":
        breath = np.random.default_rng(rng.integers(1 << 30)).standard_normal(n)
        noise_level = 0.02 if note.family in ("Flute", "Reed", "Brass", "Vocal") else 0.005
        audio = audio + noise_level * breath * env * np.max(np.abs(audio))
    peak = np.max(np.abs(audio)) or 1.0
    level = 0.9 * loud**1.5  # velocity 25 -> about 0.08, 127 -> 0.9
    return (audio / peak * level).astype(np.float32)
