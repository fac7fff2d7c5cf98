"""Long-form transcription: VAD pieces, true timestamps, every word once, subtitle files that a
subtitle parser reads back, and the CLI's formats."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from llaso.inference.transcribe import WhisperTranscriber, split_timestamped, words_from_alignment

SENTENCES = [
    "The committee agreed to postpone the vote until next Tuesday.",
    "Please send the quarterly report to the finance team.",
    "The weather in the mountains changes very quickly.",
    "Our new office is close to the central railway station.",
    "She plays the violin in a small orchestra every weekend.",
    "The engineers fixed the bridge before the winter storms.",
    "Remember to water the plants while I am away.",
    "The library will be closed during the public holiday.",
    "He bought fresh bread and cheese at the morning market.",
    "The children built a sandcastle near the harbour wall.",
    "Most of the passengers slept during the long flight.",
    "The museum opens a new exhibition about ancient maps.",
]
DISTINCTIVE = ("committee", "quarterly", "mountains", "railway", "orchestra", "engineers", "plants", "library",
               "cheese", "sandcastle", "passengers", "exhibition")


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory):
    """About 80 s: espeak-ng sentences with pauses of 0.4-3.5 s; returns the path, the truth
    (start, end, sentence) and each clip alone."""
    import soxr

    from llaso.data.tts.base import Voice
    from llaso.data.tts.registry import get_backend

    rng = np.random.default_rng(7)
    backend = get_backend("espeak-ng")
    voices = ["en-us+m3", "en-gb-scotland+f2", "en-us+f3"]
    parts, truth, clips, t = [np.zeros(8000, np.float32)], [], [], 0.5
    for index, sentence in enumerate(SENTENCES):
        voice = voices[index % len(voices)]
        out = backend.synthesize(sentence, Voice(voice, "espeak-ng", voice, "x", "x", voice))
        clip = soxr.resample(out.samples, out.sampling_rate, 16000).astype(np.float32)
        loud = np.flatnonzero(np.abs(clip) > 0.01)
        clip = clip[loud[0] : loud[-1]] * (0.5 / np.abs(clip).max())
        truth.append((t, t + len(clip) / 16000, sentence))
        clips.append(clip)
        gap = rng.uniform(0.4, 3.5)
        parts += [clip, np.zeros(int(gap * 16000), np.float32)]
        t += len(clip) / 16000 + int(gap * 16000) / 16000
    audio = np.concatenate(parts)
    path = tmp_path_factory.mktemp("long") / "long.wav"
    sf.write(path, audio, 16000)
    return path, truth, len(audio) / 16000, clips


@pytest.fixture(scope="module")
def transcriber():
    return WhisperTranscriber.from_pretrained(device="cpu")


@pytest.fixture(scope="module")
def vad_result(transcriber, long_recording):
    path, *_ = long_recording
    return transcriber.transcribe([path], word_timestamps=True)[0]


def test_every_sentence_once_with_true_times(vad_result, long_recording, transcriber):
    _, truth, duration, clips = long_recording
    assert vad_result.error is None and vad_result.audio_seconds == pytest.approx(duration, abs=0.01)
    hyp = words(vad_result.text)
    ref = words(" ".join(s for _, _, s in truth))
    from llaso.eval.metrics import edit_distance as levenshtein

    assert levenshtein(hyp, ref) / len(ref) < 0.2, vad_result.text
    # Nothing lost or duplicated at a boundary: a word Whisper hears in the clip alone is in the
    # long transcript exactly once.
    alone = words(" ".join(r.text for r in transcriber.transcribe(clips)))
    checked = [w for w in DISTINCTIVE if alone.count(w) == 1]
    assert len(checked) >= 8
    assert [w for w in checked if hyp.count(w) != 1] == []
    segments = vad_result.segments
    for a, b in zip(segments, segments[1:]):
        assert a.start <= a.end <= b.start + 1e-6  # monotonic, no overlap
    assert segments[0].start >= 0 and segments[-1].end <= duration + 1e-6
    for word in checked:  # each word is timed within its sentence's true span
        start, end, _ = next(t for t in truth if word in words(t[2]))
        timed = [w for seg in segments for w in seg.words if word in words(w.text)]
        assert len(timed) == 1 and start - 0.5 <= timed[0].start <= timed[0].end <= end + 0.5, (word, timed, start, end)
        holder = [seg for seg in segments if word in words(seg.text)]
        assert holder[0].start < end + 0.5 and holder[0].end > start - 0.5


def test_word_times_are_inside_their_segments(vad_result):
    for segment in vad_result.segments:
        assert segment.words
        for word in segment.words:
            assert segment.start - 1e-6 <= word.start <= word.end <= segment.end + 1e-6


def test_blind_cut_pieces_start_at_30_s_multiples(transcriber, long_recording):
    path, *_ = long_recording
    duration, pieces = transcriber.pieces(path, segmentation="fixed")
    assert [p.start for p in pieces] == [0.0, 30.0, 60.0][: int(np.ceil(duration / 30))]


def test_srt_and_vtt_read_back_by_parsers(vad_result):
    import srt
    import webvtt

    from llaso.inference.subtitles import to_srt, to_vtt

    cues = list(srt.parse(to_srt(vad_result.segments)))
    assert len(cues) == len([s for s in vad_result.segments if s.text.strip()])
    assert cues[0].start.total_seconds() == pytest.approx(vad_result.segments[0].start, abs=1e-3)
    assert all(c.start <= c.end for c in cues)
    captions = webvtt.from_string(to_vtt(vad_result.segments)).captions
    assert len(captions) == len(cues)
    from llaso.inference.subtitles import timestamp

    assert captions[-1].end == timestamp(vad_result.segments[-1].end, ".")
    assert captions[2].text.strip() == vad_result.segments[2].text.strip()


def llaso(*args):
    return subprocess.run([sys.executable, "-m", "llaso.cli.main", *args], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_cli_formats(long_recording, tmp_path, speech_clip):
    import shutil

    import srt

    path, *_ = long_recording
    out = llaso("transcribe", "--format", "srt", "-o", str(tmp_path / "long.srt"), str(path))
    assert out.returncode == 0, out.stderr
    assert len(list(srt.parse((tmp_path / "long.srt").read_text()))) >= 8
    copy = tmp_path / "second.wav"
    shutil.copy(speech_clip, copy)
    out = llaso("transcribe", "--format", "vtt", "--output-dir", str(tmp_path / "subs"), str(speech_clip), str(copy))
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (tmp_path / "subs").iterdir()) == sorted([f"{speech_clip.stem}.vtt", "second.vtt"])
    assert (tmp_path / "subs" / "second.vtt").read_text().startswith("WEBVTT")
    out = llaso("transcribe", "--format", "json", "--word-timestamps", str(speech_clip))
    body = json.loads(out.stdout)
    assert body["words"] and body["segments"][0]["id"] == 0 and body["duration"] > 1
    out = llaso("transcribe", "--format", "srt", str(path), str(speech_clip))
    assert out.returncode == 2 and "--output-dir" in out.stderr


@pytest.mark.slow
def test_torch_loop_and_ctranslate2_agree_on_a_clip(transcriber, speech_clip):
    ours = WhisperTranscriber.from_pretrained(backend="torch", device="cpu").transcribe([speech_clip])[0]
    kept = transcriber.transcribe([speech_clip], timestamps=False)[0]
    a, b = words(ours.text), words(kept.text)
    from llaso.eval.metrics import edit_distance as levenshtein

    assert levenshtein(a, b) <= 2, (ours.text, kept.text)


def test_timestamp_tokens_parse_into_clamped_segments():
    begin = 50363
    tokens = [begin, 10, 11, begin + 100, begin + 100, 12, begin + 90, begin + 120, 13]
    parts = split_timestamped(tokens, begin, duration=2.2)
    assert parts == [(0.0, 2.0, [10, 11]), (2.0, 2.0, [12]), (2.2, 2.2, [13])]


def test_alignment_gives_word_times():
    pieces = [" Hello", " wor", "ld", ".", " Bye"]
    path = [(0, 0), (0, 1), (1, 5), (2, 9), (3, 12), (4, 20), (4, 30)]
    result = words_from_alignment(pieces, path, [0.9] * 5, duration=1.0)
    assert [w.text for w in result] == ["Hello", "world.", "Bye"]
    assert [(w.start, w.end) for w in result] == [(0.0, 0.1), (0.1, 0.4), (0.4, 0.62)]


def test_a_file_broken_midway_keeps_what_came_before(transcriber, long_recording, tmp_path):
    path, truth, _, _ = long_recording
    audio, rate = sf.read(path, dtype="float32")
    flac = tmp_path / "long.flac"
    sf.write(flac, audio, rate)
    data = flac.read_bytes()
    broken = tmp_path / "broken.flac"
    broken.write_bytes(data[: len(data) // 2] + b"\x00" * 4000 + data[len(data) // 2 + 4000 :])
    result = transcriber.transcribe([broken])[0]
    assert "broken.flac" in result.error and "transcribed up to" in result.error
    assert result.segments and "committee" in words(result.text)  # the part before the damage
