"""The TTS backend interface: text + voice + rate in, float32 samples out.

Engines differ (in-process ONNX, command-line programs), so each backend is a small class
that turns a `Voice` into samples; anything else that fits `TTSBackend` can be registered
(`llaso.data.tts.registry.register_backend`) and used by layout conversion and the corpus builder.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from llaso.errors import LlasoError


class TTSError(LlasoError, RuntimeError):
    """A TTS engine that is missing or failed on some text."""


@dataclass(frozen=True)
class Voice:
    """A voice: an engine plus its settings, with the labels synthesis makes exact.

    `speaker` groups voices of one underlying speaker (e.g. the same diphone database through
    two engines); `split` says whether the voice is for training or held out for testing.
    """

    id: str
    engine: str
    name: str  # the engine's own voice name (espeak 'en-gb+f3', flite 'slt', ...)
    gender: str  # "Male" / "Female"
    accent: str  # "American", "British", "Scottish", "Caribbean"
    speaker: str
    split: str = "train"
    style: str = "Normal"  # "Normal" / "Whispered"
    ipa_language: str | None = None  # espeak language whose IPA matches what is spoken
    params: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Synthesis:
    samples: np.ndarray  # float32 mono in [-1, 1]
    sampling_rate: int


class TTSBackend(Protocol):
    name: str

    def available(self) -> bool: ...

    def synthesize(self, text: str, voice: Voice, rate: float = 1.0) -> Synthesis:
        """Speak `text`; `rate` > 1 speaks faster."""
        ...


def run_engine(argv: list[str], *, stdin: str | None = None, what: str) -> bytes:
    """Run a TTS program, returning stdout; a failure names the program and its message."""
    try:
        done = subprocess.run(argv, input=stdin.encode("utf-8") if stdin is not None else None,
                              capture_output=True, timeout=120, check=False)
    except FileNotFoundError:
        raise TTSError(f"{argv[0]} is not installed (needed for {what})") from None
    except subprocess.TimeoutExpired:
        raise TTSError(f"{argv[0]} timed out on {what}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise TTSError(f"{argv[0]} failed on {what}: {message[-1] if message else done.returncode}")
    return done.stdout


def decode_wav(data: bytes, what: str) -> Synthesis:
    import soundfile as sf

    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile raises several types
        raise TTSError(f"{what}: engine produced no readable audio ({exc})") from None
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    if mono.size == 0:
        raise TTSError(f"{what}: engine produced empty audio")
    return Synthesis(np.ascontiguousarray(mono), int(rate))


def program_available(name: str) -> bool:
    return shutil.which(name) is not None
