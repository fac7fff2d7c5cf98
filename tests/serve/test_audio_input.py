"""Audio a client sends: format checks, header durations, data: URLs, decoding errors."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from serve_helpers import encoded, wav_claiming

from llaso.serve.audio_input import (
    check_complete,
    check_seconds,
    decode,
    decode_base64,
    parse_audio_url,
    probe,
    sniff_format,
    wav_header_seconds,
)
from llaso.serve.errors import ApiError


def _refused(call, *args) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args)
    assert caught.value.status == 400
    return caught.value


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3"])
def test_formats_are_sniffed_and_timed_from_the_header(fmt: str) -> None:
    data = encoded(fmt, 1.5)
    assert sniff_format(data) == fmt
    blob = probe(data, fmt, "part", "p")
    assert blob.seconds == pytest.approx(1.5, abs=0.06)
    samples = decode(blob, 10.0, "p")
    assert samples.dtype == np.float32 and len(samples) == pytest.approx(24000, abs=1200)


def test_declared_format_must_match_and_be_supported() -> None:
    assert _refused(probe, encoded("flac"), "wav", "part", "p").code == "audio_format_mismatch"
    assert _refused(probe, encoded("wav"), "aac", "part", "p").code == "unsupported_audio_format"
    assert _refused(probe, b"plain text, not audio", "wav", "part", "p").code == "invalid_audio"
    assert _refused(probe, b"", "wav", "part", "p").code == "invalid_audio"
    garbage = b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(40)
    assert _refused(probe, garbage, "wav", "part", "p").code == "invalid_audio"


def test_a_header_claiming_ten_hours_is_refused_before_decoding() -> None:
    data = wav_claiming(36000.0)
    assert wav_header_seconds(data) == pytest.approx((36000.0, 0.5))
    blob = probe(data, "wav", "part", "p")
    assert blob.seconds == pytest.approx(36000.0)
    error = _refused(check_seconds, blob.seconds, 120.0, "part", "max_audio_seconds", "p")
    assert error.code == "audio_too_long" and "36000.0 s" in error.message and "max_audio_seconds" in error.message


def test_truncated_wav_is_refused_complete_wav_passes() -> None:
    truncated = encoded("wav", 2.0)[:20000]
    blob = probe(truncated, "wav", "part", "p")
    error = _refused(check_complete, blob, "p")
    assert error.code == "truncated_audio" and "2.00 s" in error.message
    check_complete(probe(encoded("wav", 2.0), "wav", "part", "p"), "p")


def test_nan_and_empty_audio_fail_to_decode() -> None:
    nan = np.full(1600, np.nan, dtype=np.float32)
    blob = probe(encoded("wav", samples=nan, subtype="FLOAT"), "wav", "part", "p")
    assert "NaN" in _refused(decode, blob, 10.0, "p").message
    empty = probe(encoded("wav", samples=np.zeros(0, np.float32)), "wav", "part", "p")
    assert empty.seconds == 0.0
    assert _refused(decode, empty, 10.0, "p").code == "invalid_audio"


def test_base64_and_data_urls() -> None:
    wav = encoded("wav", 0.2)
    text = base64.b64encode(wav).decode()
    assert decode_base64(text, "part", "p") == wav
    assert decode_base64(text[:40] + "\n" + text[40:], "part", "p") == wav  # line-wrapped base64 is fine
    assert _refused(decode_base64, "%%%", "part", "p").code == "invalid_base64"
    assert "data:" in _refused(decode_base64, "data:audio/wav;base64," + text, "part", "p").message
    assert _refused(decode_base64, 12, "part", "p").code == "invalid_base64"
    assert parse_audio_url("data:audio/wav;base64," + text, "part", "p") == (wav, "wav")
    assert parse_audio_url("data:audio/x-flac;codecs=flac;base64," + text, "part", "p")[1] == "flac"
    for url in ("https://example.com/a.wav", "http://127.0.0.1/a.wav", "file:///etc/passwd", "ftp://x/y", "/a.wav"):
        assert _refused(parse_audio_url, url, "part", "p").code == "remote_audio_url_refused"
    assert _refused(parse_audio_url, "data:audio/wav," + text, "part", "p").code == "invalid_audio_url"
