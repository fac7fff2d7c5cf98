"""The long-audio policy: Whisper sees at most 30 s at a time, so longer clips become windows."""

from __future__ import annotations

import math

import numpy as np

from llaso.audio.load import SAMPLING_RATE
from llaso.errors import AudioError

WINDOW_SECONDS = 30.0


def split_windows(
    samples: np.ndarray,
    *,
    sampling_rate: int = SAMPLING_RATE,
    window_seconds: float = WINDOW_SECONDS,
    max_windows: int = 4,
    name: str = "<audio>",
) -> list[np.ndarray]:
    """Cut `samples` into consecutive windows of at most `window_seconds`.

    More than `max_windows` windows is an error rather than a silent truncation.
    """
    window = int(window_seconds * sampling_rate)
    count = max(1, math.ceil(len(samples) / window))
    if count > max_windows:
        seconds = len(samples) / sampling_rate
        raise AudioError(
            name,
            f"audio is {seconds:.1f} s; at most {max_windows} windows of {window_seconds:g} s "
            f"({max_windows * window_seconds:g} s) are allowed (raise max_audio_windows or split the file)",
        )
    return [samples[i * window : (i + 1) * window] for i in range(count)]
