import io

import numpy as np
import pytest
import soundfile as sf

from llaso.audio import load_audio, split_windows
from llaso.errors import AudioError


def tone(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


@pytest.mark.parametrize("fmt,subtype,ext", [("WAV", "PCM_16", "wav"), ("FLAC", "PCM_16", "flac"),
                                             ("OGG", "VORBIS", "ogg"), ("MP3", "MPEG_LAYER_III", "mp3")])
def test_decodes_common_formats_to_16k_mono(tmp_path, fmt, subtype, ext):
    path = tmp_path / f"clip.{ext}"
    sf.write(path, tone(1.0, 44100, channels=2), 44100, format=fmt, subtype=subtype)
    samples = load_audio(path)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - 16000) < 1200  # codecs may pad a frame
    # the 440 Hz tone survives decoding and resampling
    spectrum = np.abs(np.fft.rfft(samples[:16000]))
    assert abs(np.argmax(spectrum) * 16000 / 16000 - 440) < 5


def test_accepts_bytes_and_arrays(tmp_path):
    buffer = io.BytesIO()
    sf.write(buffer, tone(0.5, 8000), 8000, format="WAV")
    from_bytes = load_audio(buffer.getvalue())
    assert len(from_bytes) == 8000
    from_int16 = load_audio((tone(0.5, 16000) * 32767).astype(np.int16))
    assert np.abs(from_int16).max() == pytest.approx(0.3, abs=0.01)
    stereo = load_audio(tone(0.5, 22050, channels=2), source_rate=22050)
    assert len(stereo) == 8000


def test_multichannel_is_averaged():
    left = np.ones(1600, np.float32) * 0.5
    samples = load_audio(np.stack([left, -left], axis=1))
    assert np.allclose(samples, 0.0)


@pytest.mark.parametrize("make,reason", [
    (lambda p: p.write_bytes(b""), "empty file"),
    (lambda p: p.write_bytes(b"RIFF\x00\x00garbage" * 10), "not decodable"),
    (lambda p: p.write_text("this is a text file, not audio\n" * 50), "not decodable"),
])
def test_bad_files_name_the_file_and_reason(tmp_path, make, reason):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError) as err:
        load_audio(path)
    assert str(path) in str(err.value) and reason in str(err.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(AudioError, match="file not found"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="directory"):
        load_audio(tmp_path)


def test_nan_and_inf_samples_are_rejected(tmp_path):
    bad = tone(0.2, 16000)
    bad[10] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        load_audio(bad)
    path = tmp_path / "inf.wav"
    bad[10] = np.inf
    sf.write(path, bad, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN or infinite"):
        load_audio(path)


def test_too_long_audio_is_rejected_with_the_limit(tmp_path):
    path = tmp_path / "long.flac"
    sf.write(path, np.zeros(16000 * 40, np.float32), 16000, format="FLAC")
    with pytest.raises(AudioError, match=r"40\.0 s; the limit is 30 s"):
        load_audio(path, max_seconds=30)


def test_empty_inputs():
    with pytest.raises(AudioError, match="empty"):
        load_audio(b"")
    with pytest.raises(AudioError, match="empty"):
        load_audio(np.zeros(0, np.float32))


def test_split_windows_and_limit():
    samples = np.zeros(16000 * 65, np.float32)
    windows = split_windows(samples, max_windows=3)
    assert [len(w) for w in windows] == [480000, 480000, 80000]
    with pytest.raises(AudioError, match="at most 2 windows"):
        split_windows(samples, max_windows=2)


def test_a_wav_that_holds_less_than_its_header_says_is_flagged(tmp_path):
    import io
    import warnings

    import numpy as np
    import soundfile as sf

    from llaso.audio import load_audio
    from llaso.audio.header import AudioTruncatedWarning, wav_header_seconds

    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(16000, np.float32), 16000, format="WAV", subtype="PCM_16")
    whole = buffer.getvalue()
    assert wav_header_seconds(whole) == (1.0, 1.0)
    lying = bytearray(whole[:1044])
    lying[40:44] = (10 * 3600 * 32000).to_bytes(4, "little")  # "ten hours" over 1 kB of samples
    (tmp_path / "cut.wav").write_bytes(whole[: len(whole) // 2])
    for source in (bytes(lying), tmp_path / "cut.wav"):
        with pytest.warns(AudioTruncatedWarning, match="truncated WAV"):
            load_audio(source)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_audio(whole)  # a whole file says nothing
