"""VAD segmentation: pieces of at most 30 s, cut only in silence, nothing lost or repeated."""

import numpy as np
import pytest

from llaso.audio import SAMPLING_RATE
from llaso.audio.vad import SpeechSegmenter, VadSettings, energy_probabilities, fixed_pieces, segment_speech

SR = SAMPLING_RATE


def bursts(seed: int = 0, count: int = 40, long_run: float = 0.0):
    """Tone bursts ("speech") separated by exact silences; returns audio and the true bursts."""
    rng = np.random.default_rng(seed)
    parts, truth, t = [np.zeros(int(0.4 * SR), np.float32)], [], int(0.4 * SR)
    for i in range(count):
        length = int(rng.uniform(0.4, 6.0) * SR)
        gap = int((4.0 if i % 9 == 8 else rng.uniform(0.35, 2.0)) * SR)
        parts.append((0.2 * np.sin(np.arange(length) * 0.07)).astype(np.float32))
        truth.append((t / SR, (t + length) / SR))
        t += length
        parts.append(np.zeros(gap, np.float32))
        t += gap
    if long_run:
        length = int(long_run * SR)
        parts.append((0.2 * np.sin(np.arange(length) * 0.07)).astype(np.float32))
        truth.append((t / SR, (t + length) / SR))
    return np.concatenate(parts), truth


def blocks_of(audio, seconds):
    size = int(seconds * SR)
    return [audio[i : i + size] for i in range(0, len(audio), size)]


def segment(audio, seconds=5.0, **settings):
    return list(segment_speech(blocks_of(audio, seconds), VadSettings(**settings), energy_probabilities()))


def test_pieces_are_short_ordered_within_the_file_and_cut_in_silence():
    audio, truth = bursts()
    pieces = segment(audio)
    duration = len(audio) / SR
    assert len(pieces) > 5
    previous_end = 0.0
    for piece in pieces:
        assert piece.duration <= 30.0 + 1e-6
        assert previous_end - 1e-6 <= piece.start < piece.end <= duration + 1e-6
        previous_end = piece.end
        for edge in (piece.start, piece.end):  # every cut lies in a true silence
            assert not any(a + 0.01 < edge < b - 0.01 for a, b in truth), edge
    for a, b in truth:  # every burst lies whole inside exactly one piece
        holders = [p for p in pieces if p.start <= a + 0.04 and b - 0.04 <= p.end]
        assert len(holders) == 1, (a, b)


def test_pieces_carry_the_audio_at_their_position():
    audio, _ = bursts(seed=1)
    for piece in segment(audio):
        start = round(piece.start * SR)
        assert np.array_equal(piece.samples, audio[start : start + len(piece.samples)])


def test_block_size_does_not_change_the_cuts():
    audio, _ = bursts(seed=2)
    a = [(round(p.start, 3), round(p.end, 3)) for p in segment(audio, seconds=0.7)]
    b = [(round(p.start, 3), round(p.end, 3)) for p in segment(audio, seconds=11.0)]
    assert a == b


def test_speech_without_pause_is_cut_within_30_s_and_loses_nothing():
    audio, truth = bursts(seed=3, count=3, long_run=75.0)
    pieces = segment(audio)
    start, end = truth[-1]
    covering = [p for p in pieces if p.end > start + 0.05]
    assert len(covering) >= 3 and all(p.duration <= 30.0 + 1e-6 for p in covering)
    for left, right in zip(covering, covering[1:]):  # forced cuts are contiguous: no sample lost or repeated
        assert left.forced_end and right.start == pytest.approx(left.end, abs=1 / SR)
    joined = np.concatenate([p.samples for p in covering])
    first = round(covering[0].start * SR)
    assert np.array_equal(joined, audio[first : first + len(joined)])
    assert covering[-1].end >= end - 0.05


def test_memory_is_bounded_by_one_piece_not_the_recording():
    audio, _ = bursts(seed=4, count=300)  # about 15 minutes
    segmenter = SpeechSegmenter(VadSettings(), energy_probabilities())
    largest = 0
    for block in blocks_of(audio, 2.0):
        segmenter.feed(block)
        largest = max(largest, segmenter._buf.size, segmenter._probs.size * 512)
    segmenter.finish()
    assert len(audio) > 10 * 60 * SR
    assert largest <= (30.0 + 3.0 + 2.0 + 1.0) * SR


def test_silence_and_clicks_give_no_pieces():
    audio = np.zeros(20 * SR, np.float32)
    audio[5 * SR : 5 * SR + 800] = 0.3  # a 50 ms click
    assert segment(audio) == []


def test_fixed_pieces_tile_the_recording():
    audio = np.arange(int(65.5 * SR), dtype=np.float32)
    pieces = list(fixed_pieces(blocks_of(audio, 7.0), 30.0))
    assert [p.start for p in pieces] == [0.0, 30.0, 60.0]
    assert np.array_equal(np.concatenate([p.samples for p in pieces]), audio)


def test_silero_finds_real_speech(speech_clip):
    from llaso.audio import load_audio
    from llaso.audio.vad import SileroVad

    speech = load_audio(speech_clip)
    gap = np.zeros(2 * SR, np.float32)
    audio = np.concatenate([gap, speech, gap, gap, speech, gap])
    pieces = list(segment_speech(blocks_of(audio, 3.0), VadSettings(max_gap=1.0), SileroVad().frames))
    starts = [2.0, 2.0 + len(speech) / SR + 4.0]
    assert len(pieces) == 2
    for piece, start in zip(pieces, starts):
        assert piece.speech[0][0] == pytest.approx(start, abs=0.35)
        assert piece.speech[-1][1] == pytest.approx(start + len(speech) / SR, abs=0.5)


def test_settings_are_validated():
    with pytest.raises(ValueError):
        VadSettings(threshold=0.3, neg_threshold=0.5)
    with pytest.raises(ValueError):
        VadSettings(max_piece=0.1)
