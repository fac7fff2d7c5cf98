"""Read audio of any length block by block, as float32 mono 16 kHz, never holding it whole.

Why: `load_audio` decodes a whole file, which is right for a clip and wrong for a three-hour
meeting (700 MB of float32 at 48 kHz stereo). `AudioStream` decodes `block_seconds` at a time
with libsndfile, mixes to mono and resamples with a streaming soxr resampler, so memory stays
the same whatever the length. Encoded bytes and arrays go through the same path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from llaso.audio.load import SAMPLING_RATE, AudioInput, describe_source, open_handle
from llaso.errors import AudioError

BLOCK_SECONDS = 10.0


@dataclass(frozen=True)
class StreamInfo:
    """What the header says: the duration is exact for PCM and close for compressed formats."""

    name: str
    duration: float
    source_rate: int
    channels: int


def _to_float(data: np.ndarray, label: str) -> np.ndarray:
    if not np.issubdtype(data.dtype, np.number):
        raise AudioError(label, f"array of {data.dtype} is not audio samples")
    if np.issubdtype(data.dtype, np.integer):
        return data.astype(np.float32) / (float(np.iinfo(data.dtype).max) + 1.0)
    return data.astype(np.float32, copy=False)


class AudioStream:
    """Blocks of float32 mono samples at `sampling_rate` from a path, bytes or an array.

    Iterating twice decodes twice (each pass opens the file anew). Raises AudioError naming
    the source for missing, empty or undecodable input, NaN/inf samples (with the time they
    occur) and audio over `max_seconds`.
    """

    def __init__(self, source: AudioInput, *, sampling_rate: int = SAMPLING_RATE,
                 block_seconds: float = BLOCK_SECONDS, source_rate: int | None = None,
                 max_seconds: float | None = None, name: str | None = None) -> None:
        if block_seconds <= 0:
            raise ValueError("block_seconds must be positive")
        self.source = source
        self.sampling_rate = sampling_rate
        self.block_seconds = block_seconds
        self.max_seconds = max_seconds
        self.name = describe_source(source, name)
        self._array_rate = source_rate
        self.info = self._read_info()
        if max_seconds is not None and self.info.duration > max_seconds:
            raise AudioError(self.name, f"audio is {self.info.duration:.1f} s; the limit is {max_seconds:g} s")

    def _read_info(self) -> StreamInfo:
        if isinstance(self.source, np.ndarray):
            array = self._array()
            rate = int(self._array_rate or self.sampling_rate)
            return StreamInfo(self.name, array.shape[0] / rate, rate, array.shape[1])
        if not isinstance(self.source, (str, os.PathLike, bytes, bytearray)):
            raise AudioError(self.name, "expected a path, bytes or a numpy array")
        import soundfile as sf

        handle = open_handle(self.source, self.name)
        try:
            info = sf.info(handle)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            raise AudioError(self.name, f"not decodable audio ({exc})") from None
        if info.samplerate <= 0:
            raise AudioError(self.name, f"invalid sample rate {info.samplerate}")
        if info.frames == 0:
            raise AudioError(self.name, "empty audio (0 samples)")
        return StreamInfo(self.name, info.frames / info.samplerate, int(info.samplerate), int(info.channels))

    def _array(self) -> np.ndarray:
        source = self.source
        assert isinstance(source, np.ndarray)
        if source.size == 0:
            raise AudioError(self.name, "empty audio (0 samples)")
        if source.ndim == 1:
            return source[:, None]
        if source.ndim == 2:
            return source if source.shape[0] >= source.shape[1] else source.T
        raise AudioError(self.name, f"expected a 1-D or 2-D array of samples, got {source.ndim}-D")

    @property
    def duration(self) -> float:
        return self.info.duration

    def _raw_blocks(self) -> Iterator[np.ndarray]:
        """(frames, channels) blocks at the source rate."""
        size = max(1, int(self.block_seconds * self.info.source_rate))
        if isinstance(self.source, np.ndarray):
            array = self._array()
            for start in range(0, array.shape[0], size):
                yield _to_float(array[start : start + size], self.name)
            return
        import soundfile as sf

        try:
            with sf.SoundFile(open_handle(self.source, self.name)) as handle:
                while True:
                    block = handle.read(size, dtype="float32", always_2d=True)
                    if block.shape[0] == 0:
                        return
                    yield block
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(self.name, f"not decodable audio ({exc})") from None

    def __iter__(self) -> Iterator[np.ndarray]:
        resampler = None
        if self.info.source_rate != self.sampling_rate:
            import soxr

            resampler = soxr.ResampleStream(self.info.source_rate, self.sampling_rate, 1,
                                            dtype="float32", quality="HQ")
        seen = 0  # source frames read so far
        for block in self._raw_blocks():
            if not np.isfinite(block).all():
                bad = int(np.argmax(~np.isfinite(block).all(axis=1)))
                at = (seen + bad) / self.info.source_rate
                raise AudioError(self.name, f"audio contains NaN or infinite samples (at {at:.2f} s)")
            seen += block.shape[0]
            if self.max_seconds is not None and seen / self.info.source_rate > self.max_seconds + 1e-6:
                raise AudioError(self.name, f"audio is longer than the limit of {self.max_seconds:g} s")
            mono = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
            mono = np.ascontiguousarray(mono, dtype=np.float32)
            if resampler is not None:
                mono = resampler.resample_chunk(mono, last=False)
            if mono.size:
                yield mono
        if seen == 0:
            raise AudioError(self.name, "empty audio (0 samples)")
        if resampler is not None:
            tail = resampler.resample_chunk(np.zeros(0, np.float32), last=True)
            if tail.size:
                yield tail


def iter_audio(source: AudioInput, **options) -> Iterator[np.ndarray]:
    """Shorthand for `iter(AudioStream(source, **options))`."""
    return iter(AudioStream(source, **options))


def read_span(source: AudioInput, start: float, end: float, *, sampling_rate: int = SAMPLING_RATE,
              source_rate: int | None = None, name: str | None = None) -> np.ndarray:
    """Samples from `start` to `end` seconds (float32 mono at `sampling_rate`), decoding only
    that span where the format allows seeking (WAV, FLAC, OGG); MP3 decodes up to it."""
    if end <= start:
        return np.zeros(0, np.float32)
    label = describe_source(source, name)
    if isinstance(source, np.ndarray):
        stream = AudioStream(source, sampling_rate=sampling_rate, source_rate=source_rate, name=label)
        rate = stream.info.source_rate
        data = stream._array()[int(start * rate) : int(end * rate)]
        block = _to_float(data, label)
    else:
        import soundfile as sf

        try:
            with sf.SoundFile(open_handle(source, label)) as handle:
                rate = handle.samplerate
                first = min(int(start * rate), handle.frames)
                if handle.seekable():
                    handle.seek(first)
                else:
                    handle.read(first, dtype="float32")
                block = handle.read(max(0, int(end * rate) - first), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(label, f"not decodable audio ({exc})") from None
    mono = block.mean(axis=1) if block.ndim == 2 and block.shape[1] > 1 else block.reshape(-1)
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    if rate != sampling_rate and mono.size:
        import soxr

        mono = soxr.resample(mono, rate, sampling_rate, quality="HQ").astype(np.float32)
    return mono
