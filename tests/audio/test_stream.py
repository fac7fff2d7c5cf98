"""Block-wise reading: the same samples as a whole-file decode, in bounded blocks, any input kind."""

import io

import numpy as np
import pytest
import soundfile as sf

from llaso.audio import load_audio
from llaso.audio.stream import AudioStream, read_span
from llaso.errors import AudioError


def chirp(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = (0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t)).astype(np.float32)
    return np.stack([wave, wave * 0.5], axis=1) if channels == 2 else wave


@pytest.mark.parametrize("rate,channels", [(16000, 1), (44100, 2), (8000, 1)])
def test_blocks_join_to_the_whole_file_decode(tmp_path, rate, channels):
    path = tmp_path / "clip.flac"
    sf.write(path, chirp(7.3, rate, channels), rate)
    stream = AudioStream(path, block_seconds=2.0)
    blocks = list(stream)
    assert all(b.dtype == np.float32 and b.ndim == 1 for b in blocks)
    assert max(len(b) for b in blocks) <= 2.0 * 16000 + 200  # bounded, whatever the file's length
    joined = np.concatenate(blocks)
    whole = load_audio(path)
    assert abs(len(joined) - len(whole)) <= 2
    n = min(len(joined), len(whole))
    assert np.max(np.abs(joined[:n] - whole[:n])) < 2e-3  # streaming vs one-shot resampling
    assert stream.duration == pytest.approx(7.3, abs=1e-3)


def test_bytes_and_arrays_stream_too():
    buffer = io.BytesIO()
    sf.write(buffer, chirp(3.0, 22050), 22050, format="WAV")
    assert len(np.concatenate(list(AudioStream(buffer.getvalue(), block_seconds=1.0)))) == pytest.approx(48000, abs=2)
    ints = (chirp(2.0, 16000) * 32767).astype(np.int16)
    samples = np.concatenate(list(AudioStream(ints, block_seconds=0.5)))
    assert np.abs(samples).max() == pytest.approx(0.3, abs=0.01)


@pytest.mark.parametrize("make,reason", [
    (lambda p: p.write_bytes(b""), "empty file"),
    (lambda p: p.write_text("not audio at all\n" * 40), "not decodable"),
])
def test_bad_input_names_the_source(tmp_path, make, reason):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError) as err:
        list(AudioStream(path))
    assert str(path) in str(err.value) and reason in str(err.value)
    with pytest.raises(AudioError, match="file not found"):
        AudioStream(tmp_path / "missing.wav")


def test_nan_reports_where_and_limit_is_enforced(tmp_path):
    bad = chirp(4.0, 16000)
    bad[int(2.5 * 16000)] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, bad, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"NaN or infinite samples \(at 2\.50 s\)"):
        list(AudioStream(path, block_seconds=1.0))
    with pytest.raises(AudioError, match="limit is 3 s"):
        AudioStream(path, max_seconds=3.0)


def test_read_span_returns_exactly_that_stretch(tmp_path):
    samples = chirp(6.0, 16000)
    path = tmp_path / "clip.wav"
    sf.write(path, samples, 16000, subtype="FLOAT")
    span = read_span(path, 2.0, 3.5)
    assert np.allclose(span, samples[32000:56000], atol=1e-6)
    assert np.allclose(read_span(samples, 1.0, 1.5), samples[16000:24000])
    assert read_span(path, 3.0, 3.0).size == 0
