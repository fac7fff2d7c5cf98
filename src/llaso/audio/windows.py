"""The window policy: an encoder sees at most 30 s at a time, so longer clips become windows."""

from __future__ import annotations

import math

import numpy as np

from llaso.audio.load import SAMPLING_RATE
from llaso.errors import AudioError

WINDOW_SECONDS = 30.0
# The official LLaSO code takes chunks of 480,001 samples and its feature extractor keeps the
# first 480,000 of each (30 s): one sample is lost at every boundary, and a clip just past a
# 30 s mark makes no extra window.
OFFICIAL_CHUNK_SAMPLES = 480_001


def window_count(num_samples: int, *, window_samples: int, official: bool = False) -> int:
    step = OFFICIAL_CHUNK_SAMPLES if official else window_samples
    return max(1, math.ceil(num_samples / step))


def split_windows(
    samples: np.ndarray,
    *,
    sampling_rate: int = SAMPLING_RATE,
    window_seconds: float = WINDOW_SECONDS,
    max_windows: int = 4,
    name: str = "<audio>",
    official: bool = False,
) -> list[np.ndarray]:
    """Cut `samples` into consecutive windows of at most `window_seconds`.

    `official=True` cuts as the official LLaSO code does (chunks of 480,001 samples, each kept
    to its first 30 s), which fidelity mode needs to give LLaSO-Base the same windows.
    More than `max_windows` windows is an error rather than a silent truncation (the official
    code drops every window past the 20th without a word).
    """
    window = int(window_seconds * sampling_rate)
    step = OFFICIAL_CHUNK_SAMPLES if official else window
    count = window_count(len(samples), window_samples=window, official=official)
    if count > max_windows:
        seconds = len(samples) / sampling_rate
        raise AudioError(
            name,
            f"audio is {seconds:.1f} s; this model reads at most {max_windows} windows of "
            f"{window_seconds:g} s ({max_windows * window_seconds:g} s) at once. For longer recordings "
            "answer segment by segment (long_audio='map_reduce', `--long-audio map_reduce`), "
            "transcribe them with `llaso transcribe`, or split the file",
        )
    return [samples[i * step : i * step + window] for i in range(count)]
