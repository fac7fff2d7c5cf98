"""What an audio file's first bytes say: its container, and for WAV how long it claims to be.

A WAV header that promises more samples than the file holds is a recording cut off (a crashed
recorder, an interrupted upload) or a lie; decoders quietly return what is there. Callers use
this to say so instead.
"""

from __future__ import annotations

import struct
import warnings

HEAD_BYTES = 1 << 16  # enough for the RIFF chunks before `data` in any usual WAV


class AudioTruncatedWarning(UserWarning):
    """An audio file holds less than its header promises; what is there is used."""


def sniff_format(data: bytes) -> str | None:
    """The container the bytes start with ("wav", "flac", "ogg", "mp3"), or None."""
    if len(data) >= 12 and data[:4] in (b"RIFF", b"RF64") and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:3] == b"ID3" or (len(data) >= 2 and data[0] == 0xFF and (data[1] & 0xE0) == 0xE0):
        return "mp3"
    return None


def wav_header_seconds(head: bytes, total_size: int | None = None) -> tuple[float, float] | None:
    """(seconds the header claims, seconds the file holds) for a RIFF WAV whose first bytes
    are `head` and whose whole size is `total_size` (default: `head` is the whole file);
    None when the header gives no length (streamed WAV) or is not one this parser reads (RF64)."""
    if head[:4] != b"RIFF" or len(head) < 12:
        return None
    total = len(head) if total_size is None else total_size
    position, byte_rate, block = 12, None, 1
    while position + 8 <= len(head):
        chunk, size = head[position:position + 4], struct.unpack("<I", head[position + 4:position + 8])[0]
        body = position + 8
        if chunk == b"fmt " and body + 16 <= len(head):
            byte_rate = struct.unpack("<I", head[body + 8:body + 12])[0]
            block = max(1, struct.unpack("<H", head[body + 12:body + 14])[0])
        elif chunk == b"data":
            if not byte_rate:
                return None
            available = max(0, total - body)
            claimed = available if size in (0, 0xFFFFFFFF) else size
            return claimed / byte_rate, (available - available % block) / byte_rate
        position = body + size + (size & 1)
    return None


def warn_if_truncated(head: bytes, total_size: int | None, label: str) -> None:
    """Warn (AudioTruncatedWarning) when a WAV holds less than its header promises."""
    seconds = wav_header_seconds(head, total_size)
    if seconds is not None and seconds[0] - seconds[1] > 1e-3:
        warnings.warn(f"{label}: truncated WAV: the header says {seconds[0]:.2f} s but the file holds "
                      f"{seconds[1]:.2f} s; using what is there", AudioTruncatedWarning, stacklevel=3)
