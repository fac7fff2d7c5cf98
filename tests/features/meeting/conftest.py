"""A short scripted meeting (about 45 s, two voices), built once for the meeting tests."""

import pytest

from llaso.features.meeting.scripted import FAST_VOICES, build_meeting


@pytest.fixture(scope="session")
def short_meeting(tmp_path_factory):
    folder = tmp_path_factory.mktemp("meeting")
    labels = build_meeting(folder, "standup", minutes=0.75, speakers=2, seed=6, voices=FAST_VOICES,
                           use_filler=False, snr_db=30.0)
    return folder / "standup.wav", labels
