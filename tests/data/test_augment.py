"""Augmentation: speed, pitch, reverb, band, noise at a set SNR, padding, level."""

from __future__ import annotations

import numpy as np

from llaso.data.augment import AugmentSpec, active_rms, apply_augment, coloured_noise, random_spec


def _tone(seconds=1.0, rate=22050, freq=220.0):
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_frequency(audio, rate=16000):
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
    return np.fft.rfftfreq(audio.size, 1 / rate)[spectrum.argmax()]


def test_resampling_padding_and_speed():
    rng = np.random.default_rng(0)
    clean = apply_augment(_tone(), 22050, AugmentSpec(), rng)
    assert clean.dtype == np.float32 and abs(clean.size - 16000) <= 2
    padded = apply_augment(_tone(), 22050, AugmentSpec(pad_start=0.25, pad_end=0.5), rng)
    assert abs(padded.size - 28000) <= 2 and np.abs(padded[:3900]).max() == 0
    fast = apply_augment(_tone(), 22050, AugmentSpec(speed=1.25), rng)
    assert abs(fast.size - 16000 / 1.25) < 200
    assert abs(_peak_frequency(fast) - 275) < 5  # speed raises pitch too


def test_pitch_shift_keeps_length():
    rng = np.random.default_rng(0)
    up = apply_augment(_tone(), 22050, AugmentSpec(pitch_cents=1200), rng)
    assert abs(up.size - 16000) < 200
    assert abs(_peak_frequency(up) - 440) < 8


def test_noise_at_requested_snr():
    rng = np.random.default_rng(1)
    tone = _tone(2.0, 16000)
    for snr in (10.0, 25.0):
        noisy = apply_augment(tone, 16000, AugmentSpec(noise="pink", snr_db=snr), rng)
        clean = apply_augment(tone, 16000, AugmentSpec(), rng)
        scale = np.dot(noisy, clean) / np.dot(clean, clean)  # undo the final peak limiting
        residual = noisy - scale * clean
        measured = 20 * np.log10(scale * active_rms(clean) / np.sqrt(np.mean(residual**2)))
        assert abs(measured - snr) < 1.0


def test_level_kept_when_normalise_off():
    rng = np.random.default_rng(0)
    quiet = apply_augment(_tone() * 0.1, 22050, AugmentSpec(reverb=40), rng, normalise=False)
    loud = apply_augment(_tone(), 22050, AugmentSpec(reverb=40), rng, normalise=False)
    assert 5 < np.abs(loud).max() / np.abs(quiet).max() < 15
    normalised = apply_augment(_tone() * 0.1, 22050, AugmentSpec(), rng)
    assert abs(np.abs(normalised).max() - 0.9) < 0.02


def test_band_limit_and_noise_colours():
    rng = np.random.default_rng(0)
    high = _tone(1.0, 16000, freq=5000)
    phone = apply_augment(high, 16000, AugmentSpec(band="telephone"), rng, normalise=False)
    assert np.sqrt(np.mean(phone**2)) < 0.05 * np.sqrt(np.mean(high**2))
    for kind in ("white", "pink", "brown"):
        noise = coloured_noise(kind, 16000, rng)
        assert abs(np.sqrt(np.mean(noise**2)) - 1) < 1e-3
    pink = np.abs(np.fft.rfft(coloured_noise("pink", 16000, rng)))
    assert pink[10:100].mean() > 3 * pink[4000:5000].mean()


def test_random_spec_respects_label_constraints():
    rng = np.random.default_rng(3)
    specs = [random_spec(rng, speed=False, pitch=False, gain=False) for _ in range(200)]
    assert all(s.speed == 1.0 and s.pitch_cents == 0 and s.gain_db == 0 for s in specs)
    varied = [random_spec(rng) for _ in range(200)]
    assert sum(s.speed != 1.0 for s in varied) > 40 and sum(s.noise is not None for s in varied) > 60
