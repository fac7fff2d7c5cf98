"""Text-only replay: prompts, answer trimming, and real answers from the base LLM."""

from __future__ import annotations

import json
from pathlib import Path

from llaso.data.validate import ValidateOptions, validate_path
from llaso.train.replay import finished_answer, heldout_prompts, replay_prompts, replay_samples, write_replay


def test_prompts_are_distinct_seeded_and_never_the_held_out_questions() -> None:
    held = heldout_prompts()
    assert len(held) == 50 and "What is the capital of France?" in held
    prompts = replay_prompts(300, seed=1, exclude=held)
    assert len(prompts) == 300 and len(set(prompts)) == 300
    assert not {p.lower().rstrip("?") for p in prompts} & {q.lower().rstrip("?") for q in held}
    assert prompts == replay_prompts(300, seed=1, exclude=held)
    assert prompts != replay_prompts(300, seed=2, exclude=held)


def test_a_cut_answer_is_trimmed_to_its_last_sentence_or_dropped() -> None:
    assert finished_answer(" Paris. ", finished=True) == "Paris."
    assert finished_answer("It rains. Then the sun comes ou", finished=False) == "It rains."
    assert finished_answer("A long first sentence that never", finished=False) is None
    samples = replay_samples(["q1", "q2"], ["a1", None])
    assert len(samples) == 1 and samples[0]["voice"] == [] and samples[0]["conversations"][1]["value"] == "a1"


def test_write_replay_uses_the_real_base_llm(tmp_path: Path) -> None:
    out = write_replay(tmp_path / "TXT_t_train.json", n=4, seed=0, max_new_tokens=24, progress=False)
    samples = json.loads(out.read_text())
    assert 1 <= len(samples) <= 4
    assert all(s["task"] == "TXT" and s["conversations"][1]["value"].strip() for s in samples)
    assert validate_path(out, ValidateOptions(check_audio=False)).ok
