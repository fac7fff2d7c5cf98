"""Decode any audio libsndfile reads into float32 mono at 16 kHz, or fail with a reason."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from llaso.errors import AudioError

SAMPLING_RATE = 16_000
DEFAULT_MAX_SECONDS = 600.0

AudioInput = str | os.PathLike | bytes | bytearray | np.ndarray


def describe_source(source: AudioInput, name: str | None = None) -> str:
    """A short name for error messages: the path, or what kind of in-memory input it was."""
    if name:
        return name
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, (bytes, bytearray)):
        return f"<{len(source)} bytes>"
    if isinstance(source, np.ndarray):
        return f"<array {tuple(source.shape)}>"
    return f"<{type(source).__name__}>"


def open_handle(source: str | os.PathLike | bytes | bytearray, label: str) -> object:
    """What soundfile opens for a path or encoded bytes, after the checks that name the problem
    (and a warning when a WAV holds less than its header promises)."""
    from llaso.audio.header import HEAD_BYTES, warn_if_truncated

    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise AudioError(label, "file not found")
        if path.is_dir():
            raise AudioError(label, "is a directory, not an audio file")
        size = path.stat().st_size
        if size == 0:
            raise AudioError(label, "empty file (0 bytes)")
        with open(path, "rb") as handle:
            warn_if_truncated(handle.read(HEAD_BYTES), size, label)
        return path
    if len(source) == 0:
        raise AudioError(label, "empty input (0 bytes)")
    warn_if_truncated(bytes(source[:HEAD_BYTES]), len(source), label)
    return io.BytesIO(bytes(source))


def _decode(source: AudioInput, label: str) -> tuple[np.ndarray, int]:
    import soundfile as sf

    handle = open_handle(source, label)
    try:
        data, rate = sf.read(handle, dtype="float32", always_2d=True)
    except sf.LibsndfileError as exc:
        raise AudioError(label, f"not decodable audio ({exc.error_string.strip() or exc})") from None
    except (RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(label, f"not decodable audio ({exc})") from None
    return data, int(rate)


def load_audio(
    source: AudioInput,
    *,
    sampling_rate: int = SAMPLING_RATE,
    source_rate: int | None = None,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
    name: str | None = None,
) -> np.ndarray:
    """Return float32 mono samples at `sampling_rate`.

    `source` is a path, encoded bytes (WAV, FLAC, OGG/Vorbis, MP3, ...) or a numpy array of
    samples (then `source_rate` gives its rate, default `sampling_rate`; shape (n,) or
    (n, channels)). Raises AudioError naming the source for empty, undecodable, non-finite
    or too-long audio.
    """
    label = describe_source(source, name)
    if isinstance(source, np.ndarray):
        if source.size == 0:
            raise AudioError(label, "empty audio (0 samples)")
        if source.ndim == 1:
            data = source[:, None]
        elif source.ndim == 2:
            data = source if source.shape[0] >= source.shape[1] else source.T
        else:
            raise AudioError(label, f"expected a 1-D or 2-D array of samples, got {source.ndim}-D")
        if not np.issubdtype(data.dtype, np.number):
            raise AudioError(label, f"array of {data.dtype} is not audio samples")
        if np.issubdtype(data.dtype, np.integer):
            scale = float(np.iinfo(data.dtype).max) + 1.0
            data = data.astype(np.float32) / scale
        rate = int(source_rate or sampling_rate)
    elif isinstance(source, (str, os.PathLike, bytes, bytearray)):
        data, rate = _decode(source, label)
    else:
        raise AudioError(label, "expected a path, bytes or a numpy array")

    if data.shape[0] == 0:
        raise AudioError(label, "empty audio (0 samples)")
    if rate <= 0:
        raise AudioError(label, f"invalid sample rate {rate}")
    duration = data.shape[0] / rate
    if max_seconds is not None and duration > max_seconds:
        raise AudioError(
            label,
            f"audio is {duration:.1f} s; the limit is {max_seconds:g} s "
            "(raise max_audio_seconds / --max-audio-seconds or split the file)",
        )
    data = np.asarray(data, dtype=np.float32)
    if not np.isfinite(data).all():
        raise AudioError(label, "audio contains NaN or infinite samples")

    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if rate != sampling_rate:
        import soxr

        mono = soxr.resample(mono, rate, sampling_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def audio_duration(path: str | os.PathLike) -> float:
    """Duration in seconds from the file header, without decoding the samples."""
    import soundfile as sf

    label = os.fspath(path)
    if not Path(path).exists():
        raise AudioError(label, "file not found")
    try:
        info = sf.info(label)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(label, f"not decodable audio ({exc})") from None
    if info.samplerate <= 0:
        raise AudioError(label, "invalid sample rate")
    return info.frames / info.samplerate
