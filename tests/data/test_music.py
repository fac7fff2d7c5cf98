"""Synthesized notes: pitch, loudness by velocity, presets held out."""

from __future__ import annotations

import numpy as np
import pytest

from llaso.data.music import FAMILY_SHAPES, RATE, Note, preset_split, random_note, synthesize_note


def _fundamental(audio: np.ndarray) -> float:
    """Autocorrelation pitch estimate (robust to weak fundamentals)."""
    x = audio[: RATE // 2] - audio[: RATE // 2].mean()
    corr = np.fft.irfft(np.abs(np.fft.rfft(x, 2 * x.size)) ** 2)[: x.size]
    low, high = RATE // 2000, RATE // 30
    window = corr[low:high]
    # the first lag that is a local maximum within 10 % of the best: avoids octave errors
    best = window.max()
    for i in range(1, window.size - 1):
        if window[i] >= 0.9 * best and window[i] >= window[i - 1] and window[i] >= window[i + 1]:
            # parabolic interpolation of the peak
            a, b, c = window[i - 1], window[i], window[i + 1]
            shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) else 0.0
            return RATE / (low + i + shift)
    return RATE / (low + int(np.argmax(window)))


@pytest.mark.parametrize("family", ["Organ", "String", "Brass", "Reed", "Flute"])
@pytest.mark.parametrize("source", ["Electronic", "Synthetic", "Acoustic"])
def test_pitch_matches_midi(family, source):
    low, high = FAMILY_SHAPES[family][:2]
    midi = (low + high) // 2
    note = Note(family, source, midi, 100, preset=3)
    estimate = 69 + 12 * np.log2(_fundamental(synthesize_note(note)) / 440)
    assert abs(estimate - midi) < 0.6


def test_velocity_sets_level():
    peaks = [np.abs(synthesize_note(Note("Keyboard", "Electronic", 60, v, 7))).max()
             for v in (25, 50, 75, 100, 127)]
    assert peaks == sorted(peaks) and peaks[-1] > 5 * peaks[0]


def test_families_differ_and_presets_split():
    a = synthesize_note(Note("Organ", "Electronic", 60, 100, 1))
    b = synthesize_note(Note("Flute", "Electronic", 60, 100, 1))
    assert a.shape == b.shape and not np.allclose(a, b)
    rng = np.random.default_rng(0)
    assert all(preset_split(random_note(rng, "test").preset) == "test" for _ in range(20))
    assert all(preset_split(random_note(rng, "train").preset) == "train" for _ in range(20))
