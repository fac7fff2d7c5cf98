"""Augmentation: speed and pitch perturbation, reverberation, band limiting, noise, gain.

Synthetic voices are clean, steady and few; real recordings are not. Perturbing every clip
differently (sox for speed/pitch/reverb/filters, numpy for noise and gain) is what lets a model
trained on synthesized speech hear real recordings. Specs are plain dataclasses recorded in
each sample, so a clip can be regenerated exactly.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import asdict, dataclass

import numpy as np

from llaso.errors import LlasoError

OUTPUT_RATE = 16_000


class AugmentError(LlasoError, RuntimeError):
    """sox missing or failing on a clip."""


@dataclass
class AugmentSpec:
    speed: float = 1.0  # Kaldi-style speed perturbation (tempo and pitch together)
    pitch_cents: float = 0.0  # pitch shift at constant tempo
    reverb: float | None = None  # sox reverberance 0-100, None: dry
    room_scale: float = 50.0
    band: str | None = None  # "telephone" (300-3400 Hz) or "radio" (150-6000 Hz)
    noise: str | None = None  # "white", "pink", "brown"
    snr_db: float = 30.0
    gain_db: float = 0.0
    pad_start: float = 0.0  # seconds of silence added
    pad_end: float = 0.0

    def to_dict(self) -> dict:
        """Only what differs from a clean clip, rounded for the record."""
        clean = AugmentSpec()
        return {k: (round(v, 3) if isinstance(v, float) else v)
                for k, v in asdict(self).items() if v != getattr(clean, k)}


def random_spec(
    rng: np.random.Generator,
    *,
    speed: bool = True,
    pitch: bool = True,
    gain: bool = True,
    clean_probability: float = 0.2,
) -> AugmentSpec:
    """A random perturbation; `speed`/`pitch`/`gain` off where they would change the label."""
    spec = AugmentSpec()
    spec.pad_start = float(rng.uniform(0.05, 0.35))
    spec.pad_end = float(rng.uniform(0.05, 0.35))
    if rng.random() < clean_probability:
        return spec
    if speed and rng.random() < 0.5:
        spec.speed = float(rng.choice([0.9, 0.95, 1.05, 1.1]) + rng.uniform(-0.02, 0.02))
    if pitch and rng.random() < 0.4:
        spec.pitch_cents = float(rng.uniform(-250, 250))
    if rng.random() < 0.35:
        spec.reverb = float(rng.uniform(15, 80))
        spec.room_scale = float(rng.uniform(20, 100))
    if rng.random() < 0.12:
        spec.band = str(rng.choice(["telephone", "radio"]))
    if rng.random() < 0.55:
        spec.noise = str(rng.choice(["white", "pink", "brown"]))
        spec.snr_db = float(rng.uniform(8, 35))
    if gain:
        spec.gain_db = float(rng.uniform(-12, 3))
    return spec


def _sox_effects(spec: AugmentSpec, out_rate: int) -> list[str]:
    effects: list[str] = ["rate", "-h", str(out_rate)]  # first, so filters fit any input rate
    if spec.band == "telephone":
        effects += ["sinc", "300-3400"]
    elif spec.band == "radio":
        effects += ["sinc", "150-6000"]
    if spec.speed != 1.0:
        effects += ["speed", f"{spec.speed:.4f}"]
    if spec.pitch_cents:
        effects += ["pitch", f"{spec.pitch_cents:.1f}"]
    if spec.reverb is not None:
        effects += ["reverb", f"{spec.reverb:.1f}", "50", f"{spec.room_scale:.1f}"]
    return effects


def run_sox(samples: np.ndarray, rate: int, effects: list[str], out_rate: int) -> np.ndarray:
    """Pipe float32 samples through sox with `effects`, resampling to `out_rate`."""
    sox = shutil.which("sox")
    if sox is None:
        raise AugmentError("sox is not installed (apt-get install sox); needed for augmentation")
    argv = [sox, "-V1", "-t", "f32", "-r", str(rate), "-c", "1", "-", "-t", "f32", "-r",
            str(out_rate), "-c", "1", "-", *effects, "rate", "-h", str(out_rate)]
    done = subprocess.run(argv, input=np.ascontiguousarray(samples, dtype=np.float32).tobytes(),
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise AugmentError(f"sox {' '.join(effects)} failed: {done.stderr.decode(errors='replace').strip()}")
    return np.frombuffer(done.stdout, dtype=np.float32).copy()


def coloured_noise(kind: str, length: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS white, pink (1/f) or brown (1/f^2) noise."""
    white = rng.standard_normal(length)
    if kind == "white":
        noise = white
    else:
        spectrum = np.fft.rfft(white)
        freqs = np.arange(spectrum.size, dtype=np.float64)
        freqs[0] = 1.0
        spectrum /= np.sqrt(freqs) if kind == "pink" else freqs
        noise = np.fft.irfft(spectrum, n=length)
    noise = noise - noise.mean()
    return (noise / (np.sqrt(np.mean(noise**2)) + 1e-12)).astype(np.float32)


def active_rms(samples: np.ndarray) -> float:
    """RMS over the louder half of 20 ms frames (ignores pauses when setting an SNR)."""
    frame = 320
    usable = samples[: samples.size // frame * frame]
    if usable.size == 0:
        return float(np.sqrt(np.mean(samples**2)) + 1e-12)
    energies = np.mean(usable.reshape(-1, frame) ** 2, axis=1)
    loud = energies[energies >= np.median(energies)]
    return float(np.sqrt(loud.mean()) + 1e-12)


def apply_augment(
    samples: np.ndarray,
    rate: int,
    spec: AugmentSpec,
    rng: np.random.Generator,
    *,
    out_rate: int = OUTPUT_RATE,
    normalise: bool = True,
) -> np.ndarray:
    """Apply `spec`; returns float32 mono at `out_rate`.

    `normalise` scales speech to a peak of 0.9 before gain (TTS engines differ widely in
    level); pass False where loudness is the label (note velocity).
    """
    audio = np.asarray(samples, dtype=np.float32)
    effects = _sox_effects(spec, out_rate)
    if len(effects) > 3:
        audio = run_sox(audio, rate, effects, out_rate)
    elif rate != out_rate:
        import soxr

        audio = soxr.resample(audio, rate, out_rate, quality="HQ").astype(np.float32)
    if normalise:
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak > 0:
            audio = audio * (0.9 / peak)
    pad = (np.zeros(int(spec.pad_start * out_rate), np.float32),
           audio,
           np.zeros(int(spec.pad_end * out_rate), np.float32))
    audio = np.concatenate(pad)
    if spec.noise:
        level = active_rms(pad[1]) / (10 ** (spec.snr_db / 20))
        audio = audio + level * coloured_noise(spec.noise, audio.size, rng)
    if spec.gain_db:
        audio = audio * (10 ** (spec.gain_db / 20))
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0.99:
        audio = audio * (0.99 / peak)
    return audio.astype(np.float32)
