"""Audio a client sends: base64 or `data:` URLs in, checked bytes out, decoded off the event loop.

Everything here runs before the engine sees the request: the declared format must match the
bytes, the duration is read from the header (a WAV header is parsed here, so a header that
claims ten hours is refused without reading further) and checked against the limits, and
only then are the samples decoded. Remote URLs are refused: the server connects nowhere.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass

import numpy as np

from llaso.audio.header import sniff_format, wav_header_seconds
from llaso.errors import AudioError
from llaso.serve.errors import ApiError

FORMATS = ("wav", "mp3", "flac", "ogg")
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w.+-]+=[\w.+-]+)*)(?P<b64>;base64)?,", re.I)
MIME_FORMATS = {
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/mpeg3": "mp3",
    "audio/flac": "flac", "audio/x-flac": "flac",
    "audio/ogg": "ogg", "application/ogg": "ogg", "audio/vorbis": "ogg", "audio/opus": "ogg",
}
_WHITESPACE = re.compile(rb"\s+")
MIN_RATE, MAX_RATE, MAX_CHANNELS = 1000, 768_000, 64


@dataclass
class AudioBlob:
    """One audio part's bytes, its format and its duration read from the header."""

    data: bytes
    format: str
    seconds: float
    where: str


def _bad(message: str, code: str, param: str | None) -> ApiError:
    return ApiError(400, message, code, param=param)


def decode_base64(text: object, where: str, param: str) -> bytes:
    if not isinstance(text, str) or not text:
        raise _bad(f"{where}: audio data must be a non-empty base64 string", "invalid_base64", param)
    if text.startswith("data:"):
        raise _bad(f"{where}: input_audio.data is plain base64, without a 'data:' prefix "
                   "(or send an audio_url part with the data: URL)", "invalid_base64", param)
    try:
        return base64.b64decode(_WHITESPACE.sub(b"", text.encode("ascii")), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise _bad(f"{where}: audio data is not valid base64", "invalid_base64", param) from None


def parse_audio_url(url: object, where: str, param: str) -> tuple[bytes, str | None]:
    """A `data:audio/...;base64,` URL -> (bytes, format or None); any other URL is refused."""
    if not isinstance(url, str) or not url:
        raise _bad(f"{where}: audio_url.url must be a string", "invalid_audio_url", param)
    match = _DATA_URL.match(url)
    if match is None:
        scheme = url.split(":", 1)[0].lower() if ":" in url else "a relative"
        raise _bad(f"{where}: only data: URLs are accepted for audio_url; this server never fetches "
                   f"{scheme} URLs (send the audio inline as base64)", "remote_audio_url_refused", param)
    if not match.group("b64"):
        raise _bad(f"{where}: the data: URL must be base64 (data:audio/wav;base64,...)", "invalid_audio_url", param)
    mime = (match.group("mime") or "").lower()
    return decode_base64(url[match.end():], where, param), MIME_FORMATS.get(mime)


def probe(data: bytes, declared: str | None, where: str, param: str) -> AudioBlob:
    """Check format and read the duration from the header, without decoding the samples."""
    import soundfile as sf

    if not data:
        raise _bad(f"{where}: the audio is empty (0 bytes)", "invalid_audio", param)
    if declared is not None and declared not in FORMATS:
        raise _bad(f"{where}: audio format {declared!r} is not supported; use one of {', '.join(FORMATS)}",
                   "unsupported_audio_format", param)
    found = sniff_format(data)
    if found is None:
        raise _bad(f"{where}: the data is not audio in a supported format ({', '.join(FORMATS)})",
                   "invalid_audio", param)
    if declared is not None and declared != found:
        raise _bad(f"{where}: format says {declared!r} but the data is {found}", "audio_format_mismatch", param)
    header = wav_header_seconds(data) if found == "wav" else None
    try:
        info = sf.info(io.BytesIO(data))
        seconds = info.frames / info.samplerate if info.samplerate > 0 else 0.0
        if not MIN_RATE <= info.samplerate <= MAX_RATE:
            raise _bad(f"{where}: sample rate {info.samplerate} Hz is outside {MIN_RATE}..{MAX_RATE} Hz",
                       "invalid_audio", param)
        if not 1 <= info.channels <= MAX_CHANNELS:
            raise _bad(f"{where}: {info.channels} channels; at most {MAX_CHANNELS} are accepted", "invalid_audio", param)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as exc:
        if header is not None and header[0] > header[1]:
            seconds = header[0]  # a lying header: the limit check below names it
        else:
            reason = getattr(exc, "error_string", "") or str(exc)
            raise _bad(f"{where}: not decodable {found} audio ({reason.strip()})", "invalid_audio", param) from None
    if header is not None:
        seconds = max(seconds, header[0])
    return AudioBlob(data=data, format=found, seconds=seconds, where=where)


def check_complete(blob: AudioBlob, param: str) -> None:
    """A WAV whose header promises more samples than the bytes hold was cut off in transit."""
    header = wav_header_seconds(blob.data) if blob.format == "wav" else None
    if header is not None and header[0] - header[1] > 1e-3:
        raise _bad(f"{blob.where}: truncated WAV: the header says {header[0]:.2f} s but the data holds "
                   f"{header[1]:.2f} s", "truncated_audio", param)


def check_seconds(seconds: float, limit: float, where: str, limit_name: str, param: str | None) -> None:
    if seconds > limit:
        raise _bad(f"{where}: {seconds:.1f} s of audio; the limit is {limit:g} s ({limit_name})", "audio_too_long", param)


def decode(blob: AudioBlob, max_seconds: float, param: str) -> np.ndarray:
    """float32 mono 16 kHz samples (runs in a worker thread: decoding is CPU work)."""
    from llaso.audio import load_audio

    try:
        return load_audio(blob.data, max_seconds=max_seconds, name=blob.where)
    except AudioError as exc:
        raise _bad(str(exc), "invalid_audio", param) from None
