"""The TTS backend interface: text + voice + rate in, float32 samples out.

Engines differ (in-process ONNX, command-line programs), so each backend is a small class
that turns a `Voice` into samples; anything else that fits `TTSBackend` can be registered
with `register_backend` and used by layout conversion and the corpus builder.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
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


def _factories() -> dict[str, Callable[[], TTSBackend]]:
    from llaso.data.tts.espeak import EspeakBackend
    from llaso.data.tts.festival import FestivalBackend
    from llaso.data.tts.flite import FliteBackend
    from llaso.data.tts.piper import PiperBackend

    return {"espeak-ng": EspeakBackend, "flite": FliteBackend, "festival": FestivalBackend,
            "piper": PiperBackend}


class BackendSet:
    """Backends by engine name, created on first use (one per process: Piper loads a model)."""

    def __init__(self) -> None:
        self._factories = _factories()
        self._made: dict[str, TTSBackend] = {}

    def register(self, name: str, factory: Callable[[], TTSBackend]) -> None:
        self._factories[name] = factory
        self._made.pop(name, None)

    def get(self, name: str) -> TTSBackend:
        if name not in self._made:
            if name not in self._factories:
                raise TTSError(f"unknown TTS engine {name!r}; known: {', '.join(self._factories)}")
            backend = self._factories[name]()
            if not backend.available():
                raise TTSError(f"TTS engine {name!r} is not installed on this machine")
            self._made[name] = backend
        return self._made[name]

    def names(self) -> list[str]:
        return list(self._factories)


@lru_cache(maxsize=1)
def default_backends() -> BackendSet:
    """The process's backends (created on first use; Piper's model loads once)."""
    return BackendSet()


def get_backend(name: str) -> TTSBackend:
    return default_backends().get(name)


def register_backend(name: str, factory: Callable[[], TTSBackend]) -> None:
    """Make another engine available under `name` (e.g. a cloud or neural TTS of your own)."""
    default_backends().register(name, factory)
