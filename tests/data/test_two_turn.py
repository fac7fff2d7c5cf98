"""Two-turn conversations derived from single-turn samples that also know the transcript."""

from __future__ import annotations

import json
from pathlib import Path

from llaso.cli.main import main
from llaso.data.schema import sample_to_messages
from llaso.data.two_turn import two_turn_sample, two_turn_samples

SGC = {
    "id": "SGC_ta_train_000007", "task": "SGC", "layout": "t,a",
    "conversations": [{"from": "human", "value": "Is the speaker male or female?<audio>"},
                      {"from": "gpt", "value": "Female"}],
    "voice": ["../audio/SGC/x.wav"], "meta": {"text": "The cat sat on the mat."},
}


def test_both_orders_keep_one_clip_and_both_answers() -> None:
    voice_first = two_turn_sample(SGC, "Transcribe the audio.", voice_first=True, index=0)
    assert [t["value"] for t in voice_first["conversations"]] == [
        "<audio>\nIs the speaker male or female?", "Female", "Transcribe the audio.", "The cat sat on the mat."]
    text_first = two_turn_sample(SGC, "Transcribe the audio.", voice_first=False, index=1)
    assert [t["value"] for t in text_first["conversations"]][1:] == [
        "The cat sat on the mat.", "Is the speaker male or female?", "Female"]
    assert text_first["voice"] == SGC["voice"] and text_first["meta"]["source_id"] == SGC["id"]
    messages = sample_to_messages(text_first)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert sum(p.get("type") == "audio" for p in messages[0]["content"]) == 1


def test_samples_without_transcript_are_skipped_and_output_is_seeded() -> None:
    no_text = {**SGC, "meta": {}}
    made = two_turn_samples([SGC, no_text, SGC], ["A.", "B.", "C."], seed=4)
    assert len(made) == 2 and [m["id"] for m in made] == ["MT_ta_train_000000", "MT_ta_train_000001"]
    assert made == two_turn_samples([SGC, no_text, SGC], ["A.", "B.", "C."], seed=4)
    assert len(two_turn_samples([SGC] * 5, ["A."], seed=0, limit=3)) == 3


def test_cli_rebases_audio_paths_to_the_output_folder(tmp_path: Path) -> None:
    (tmp_path / "corpus" / "train").mkdir(parents=True)
    (tmp_path / "corpus" / "train" / "SGC_ta_train.json").write_text(json.dumps([SGC]))
    out = tmp_path / "elsewhere" / "MT_ta_train.json"
    assert main(["data", "two-turn", str(tmp_path / "corpus" / "train" / "SGC_ta_train.json"), "--out", str(out)]) == 0
    [sample] = json.loads(out.read_text())
    assert (out.parent / sample["voice"][0]).resolve() == (tmp_path / "corpus" / "audio" / "SGC" / "x.wav").resolve()


def test_follow_ups_continue_an_audio_exchange_with_a_text_question() -> None:
    from llaso.data.two_turn import follow_up_samples

    text = [{"conversations": [{"from": "human", "value": f"Question {i}?"}, {"from": "gpt", "value": f"Answer {i}."}]}
            for i in range(3)]
    made = follow_up_samples([SGC, SGC], text, seed=1)
    assert len(made) == 2 and made == follow_up_samples([SGC, SGC], text, seed=1)
    turns = made[0]["conversations"]
    assert turns[:2] == SGC["conversations"] and turns[2]["value"].startswith("Question")
    assert turns[3]["value"] == turns[2]["value"].replace("Question", "Answer").replace("?", ".")
    assert made[0]["voice"] == SGC["voice"] and "<audio>" not in turns[2]["value"]
