"""Subtitle formats: timestamps exact, cues well-formed, blank text never breaks a cue."""

import pytest

from llaso.inference.subtitles import Segment, timestamp, to_srt, to_text, to_vtt


def test_timestamp_rounds_to_milliseconds():
    assert timestamp(3725.0456) == "01:02:05,046"
    assert timestamp(0.0, ".") == "00:00:00.000"


def test_srt_numbers_cues_and_skips_empty_text():
    srt = to_srt([Segment(0.0, 1.5, "Hello there."), Segment(1.5, 2.0, "  "), Segment(2.0, 4.25, "Second\n\nline")])
    assert srt == "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n2\n00:00:02,000 --> 00:00:04,250\nSecond\nline\n"


def test_vtt_header_speaker_and_arrow_escaped():
    vtt = to_vtt([Segment(0.5, 1.0, "a --> b", speaker="A")])
    assert vtt.startswith("WEBVTT\n\n00:00:00.500 --> 00:00:01.000\nA: a -> b\n")


def test_text_joins_and_segment_rejects_backwards_time():
    assert to_text([Segment(0, 1, " one "), Segment(1, 2, "two")]) == "one two"
    with pytest.raises(ValueError):
        Segment(2.0, 1.0, "x")
