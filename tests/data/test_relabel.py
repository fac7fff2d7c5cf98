"""Clips asked another question, answered from what their build recorded."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from llaso.cli.main import main
from llaso.data.relabel import relabel_answer, relabelled_samples
from llaso.data.schema import sample_to_messages


def asr(index: int, voice: str) -> dict:
    return {
        "id": f"ASR_ta_train_{index:06d}", "task": "ASR", "layout": "t,a",
        "conversations": [{"from": "human", "value": "<audio>\nTranscribe the audio."},
                          {"from": "gpt", "value": f"sentence {index}"}],
        "voice": [f"../audio/ASR/ta_train_{index:06d}.wav"],
        "tts": {"engine": voice.split(":")[0], "voice": voice, "rate": 1.0, "augment": {}},
        "meta": {"text": f"sentence {index}"},
    }


def note(index: int, family: str) -> dict:
    return {
        "id": f"PP_ta_train_{index:06d}", "task": "PP", "layout": "t,a",
        "conversations": [{"from": "human", "value": "<audio>\nWhat is the pitch?"}, {"from": "gpt", "value": "60"}],
        "voice": [f"../audio/PP/ta_train_{index:06d}.wav"],
        "synth": {"family": family, "source": "Acoustic", "midi": 60, "velocity": 100, "preset": 3},
    }


# Piper's joe (American man) dominates transcription clips, as in llaso-mini.
CLIPS = [asr(i, v) for i, v in enumerate(
    ["piper:joe"] * 6 + ["espeak-ng:en-gb-scotland+f2", "espeak-ng:en+m3", "flite:slt", "espeak-ng:en-029+f1",
                         "espeak-ng:en-us+whisperf", "espeak-ng:en+Annie"]
)]


def test_answers_come_from_the_voice_catalogue_and_the_note_record() -> None:
    assert relabel_answer(CLIPS[0], "SGC") == "Male" and relabel_answer(CLIPS[0], "AC") == "American"
    assert relabel_answer(CLIPS[6], "SGC") == "Female" and relabel_answer(CLIPS[6], "AC") == "Scottish"
    assert relabel_answer(CLIPS[10], "SGC") is None  # whispered clips belong to the style task
    assert relabel_answer({**CLIPS[0], "tts": {"voice": "espeak-ng:unknown"}}, "SGC") is None
    assert relabel_answer({k: v for k, v in CLIPS[0].items() if k != "tts"}, "SGC") is None
    assert relabel_answer(CLIPS[0], "IC") is None
    assert relabel_answer(note(0, "Flute"), "IC") == "Flute" and relabel_answer(note(0, "Flute"), "ISC") == "Acoustic"
    assert relabel_answer(note(0, "Flute"), "SGC") is None
    assert relabel_answer({**note(0, "Flute"), "voice": ["a.wav", "b.wav"]}, "IC") is None
    with pytest.raises(ValueError, match="relabelled"):
        relabel_answer(CLIPS[0], "ASR")


def test_derived_samples_are_balanced_seeded_and_trainable() -> None:
    made = relabelled_samples(CLIPS, "SGC", seed=1)
    answers = Counter(s["conversations"][1]["value"] for s in made)
    assert answers == {"Male": 4, "Female": 4}  # 7 men (6 of them Piper) cut to the 4 women
    assert [s["meta"]["source_id"] for s in made] == sorted(s["meta"]["source_id"] for s in made)
    assert made == relabelled_samples(CLIPS, "SGC", seed=1)
    assert made != relabelled_samples(CLIPS, "SGC", seed=2)  # wording is drawn from the seed
    first = made[0]
    assert first["task"] == "SGC" and first["voice"] == CLIPS[0]["voice"] and first["id"] == "SGC_ta_train_r000000"
    assert first["meta"] == {"source_id": CLIPS[0]["id"], "source_task": "ASR", "text": "sentence 0"}
    messages = sample_to_messages(first)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert sum(p.get("type") == "audio" for p in messages[0]["content"]) == 1

    accents = relabelled_samples(CLIPS, "AC", seed=0, limit=8)
    # One Scottish and one Caribbean clip: every accent gets one, however many Americans there are.
    assert Counter(s["conversations"][1]["value"] for s in accents) == {
        "American": 1, "British": 1, "Scottish": 1, "Caribbean": 1}
    for sample in accents:  # llaso-mini's own four accents are listed in the question
        assert all(label in sample["conversations"][0]["value"]
                   for label in ("American", "British", "Scottish", "Caribbean"))
    assert len(relabelled_samples(CLIPS, "SGC", seed=0, limit=3)) == 2  # 1 per answer, still balanced

    notes = relabelled_samples([note(i, f) for i, f in enumerate(["Flute", "Organ", "Flute"])], "IC", seed=0)
    assert [s["conversations"][1]["value"] for s in notes] == ["Flute", "Organ"]
    assert notes[0]["synth"]["family"] == "Flute" and "tts" not in notes[0]


def test_cli_writes_rebased_samples_and_reports_the_balance(tmp_path: Path, capsys) -> None:
    source = tmp_path / "corpus" / "train" / "ASR_ta_train.json"
    source.parent.mkdir(parents=True)
    source.write_text(json.dumps(CLIPS))
    out = tmp_path / "corpus" / "derived" / "SGC_ta_train.json"
    assert main(["data", "relabel", str(source), "--task", "SGC", "--out", str(out)]) == 0
    assert "Female 4, Male 4" in capsys.readouterr().out
    samples = json.loads(out.read_text())
    assert (out.parent / samples[0]["voice"][0]).resolve() == (
        tmp_path / "corpus" / "audio" / "ASR" / "ta_train_000000.wav").resolve()
    none = tmp_path / "none.json"
    none.write_text(json.dumps([{k: v for k, v in c.items() if k != "tts"} for c in CLIPS]))
    assert main(["data", "relabel", str(none), "--task", "AC", "--out", str(tmp_path / "x.json")]) == 1
    assert not (tmp_path / "x.json").exists()


def test_cli_exclude_skips_clips_an_earlier_round_used(tmp_path: Path, capsys) -> None:
    source = tmp_path / "corpus" / "train" / "ASR_ta_train.json"
    source.parent.mkdir(parents=True)
    source.write_text(json.dumps(CLIPS))
    first = tmp_path / "corpus" / "derived" / "SGC_ta_train.json"
    assert main(["data", "relabel", str(source), "--task", "SGC", "--limit", "4", "--out", str(first)]) == 0
    later = tmp_path / "corpus" / "derived-2" / "SGC_ta_train.json"
    assert main(["data", "relabel", str(source), "--task", "SGC", "--exclude", str(first), "--out", str(later)]) == 0
    assert "Female 2, Male 2" in capsys.readouterr().out.splitlines()[-1]

    def clips(path: Path) -> set[Path]:
        return {(path.parent / s["voice"][0]).resolve() for s in json.loads(path.read_text())}

    assert len(clips(first)) == 4 and len(clips(later)) == 4 and not clips(first) & clips(later)
