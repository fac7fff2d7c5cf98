"""`run_meeting` and `llaso meeting` on a short scripted meeting with known truth."""

import json
import subprocess
import sys

import pytest

from llaso.features.meeting.evaluate import action_item_scores, der, speaker_mapping
from llaso.features.meeting.pipeline import MeetingOptions, run_meeting


@pytest.fixture(scope="module")
def report(short_meeting):
    path, _ = short_meeting
    return run_meeting(path, options=MeetingOptions(speakers=2))


def reference_turns(labels):
    return [(t.speaker, t.start, t.end) for t in labels.turns]


def test_speakers_transcript_and_items_match_the_script(report, short_meeting):
    _, labels = short_meeting
    hyp = [(t.speaker, t.start, t.end) for t in report.turns]
    assert {s["id"] for s in report.speakers} == {"SPEAKER_1", "SPEAKER_2"}
    # Report turns follow the transcript's segments (they may span short pauses): DER counts
    # those pauses as false alarm. Labelling everything as one speaker scores about 0.7 here.
    one_speaker = der(reference_turns(labels), [("all", 0.0, labels.duration)])
    assert der(reference_turns(labels), hyp) < min(0.4, one_speaker / 2)
    mapping = speaker_mapping(reference_turns(labels), hyp)
    scores = action_item_scores(report.action_items, labels.action_items, mapping)
    assert scores.task_recall >= 0.5 and scores.matched >= 1
    heard = " ".join(t.text for t in report.turns).lower()
    if labels.decisions[0].what in heard:  # a decision Whisper heard word for word is found
        assert any(d.what.split()[0] in labels.decisions[0].what for d in report.decisions)
    ends = [s.end for s in report.segments]
    assert ends == sorted(ends) and report.segments[-1].end <= report.duration
    assert all(s.speaker for s in report.segments)


def test_without_a_model_nothing_claims_to_be_heard(report):
    assert report.summary is None and all(t.tone is None for t in report.turns)
    markdown = report.to_markdown()
    for heading in ("## Summary", "## Decisions", "## Action items", "## Speakers", "## Transcript"):
        assert heading in markdown
    assert "No summary" in markdown and "as the model heard it" not in markdown
    body = json.loads(report.to_json())
    assert body["action_items"][0]["at"] >= 0 and body["turns"] and body["segments"][0]["words"]


def llaso(*args):
    return subprocess.run([sys.executable, "-m", "llaso.cli.main", *args], capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_cli_writes_markdown_and_json(short_meeting, tmp_path):
    path, _ = short_meeting
    out = llaso("meeting", str(path), "--no-model", "--out", str(tmp_path / "notes"), "--print", "none")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "notes.md").read_text().startswith("# Meeting report: standup.wav")
    assert json.loads((tmp_path / "notes.json").read_text())["duration"] > 30
    bad = llaso("meeting", str(path), "--no-model", "--speakers", "0")
    assert bad.returncode == 2 and "speakers" in bad.stderr


@pytest.mark.slow
def test_with_the_lslm_summary_and_tone(tiny, short_meeting):
    path, _ = short_meeting
    report = tiny.meeting(path, speakers=2, max_tone_turns=3)
    assert report.summary and len(report.summary.split()) >= 3
    asked = [t for t in report.turns if t.tone]
    assert 1 <= len(asked) <= 3 and all(t.tone.answer for t in asked)
    markdown = report.to_markdown()
    assert f"was asked “{asked[0].tone.question}”" in markdown and f"{len(asked)} of {len(report.turns)} turns" in markdown
    assert "summary" in report.methods and "tone" in report.methods
