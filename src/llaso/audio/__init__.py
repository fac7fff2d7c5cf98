"""Audio input: decoding, resampling to 16 kHz mono, and the 30 s window policy."""

from llaso.audio.load import (
    SAMPLING_RATE,
    AudioInput,
    audio_duration,
    describe_source,
    load_audio,
)
from llaso.audio.windows import split_windows

__all__ = [
    "SAMPLING_RATE",
    "AudioInput",
    "audio_duration",
    "describe_source",
    "load_audio",
    "split_windows",
]
