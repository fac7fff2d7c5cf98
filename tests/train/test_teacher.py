"""Teacher targets: the base LLM answers the text version of each spoken sample, turn by turn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llaso.train.teacher import teacher_messages, text_version, write_teacher_file


def _open_sample(text: str, follow: bool) -> dict:
    turns = [{"from": "human", "value": "What is the speaker asking?<audio>"}, {"from": "gpt", "value": ""}]
    if follow:
        turns += [{"from": "human", "value": "Answer it in one sentence."}, {"from": "gpt", "value": ""}]
    return {"id": "OPEN_ta_train_000000", "task": "OPEN", "layout": "t,a", "conversations": turns,
            "voice": ["a.wav"], "meta": {"text": text, "needs_teacher": True}}


def test_text_version_writes_the_words_as_a_grounded_prompt_does():
    assert text_version('Say it.<audio>', ' He said  "hi" ') == "Say it.\n(transcript: \"He said 'hi'\")"
    assert text_version("Say it.<audio>", "") == "Say it.\n(no speech)"


def test_follow_up_sees_the_teachers_own_first_answer():
    sample = _open_sample("What is the capital of France?", follow=True)
    assert [m["role"] for m in teacher_messages(sample, 0, [])] == ["user"]
    second = teacher_messages(sample, 1, ["It asks for the capital of France."])
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert second[1]["content"] == "It asks for the capital of France."
    assert "capital of France" in second[0]["content"] and "<audio>" not in second[0]["content"]


@pytest.mark.slow
def test_write_teacher_file_with_the_real_base_llm_resumes(tmp_path: Path):
    source = tmp_path / "OPEN_open.json"
    source.write_text(json.dumps([_open_sample("What is the capital of France?", follow=True),
                                  _open_sample("Where do penguins live?", follow=False)]))
    out = write_teacher_file(source, tmp_path / "OPEN_ta_train.json", max_new_tokens=40, progress=False)
    taught = json.loads(out.read_text())
    assert 1 <= len(taught) <= 2
    for sample in taught:
        answers = [t["value"] for t in sample["conversations"] if t["from"] == "gpt"]
        assert all(a.strip() for a in answers) and "needs_teacher" not in sample["meta"]
    again = write_teacher_file(source, tmp_path / "OPEN_ta_train.json", max_new_tokens=40, progress=False)
    assert json.loads(again.read_text()) == taught  # answers come back from the journal
