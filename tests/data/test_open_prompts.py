"""Open questions about what a clip says, drawn from samples that know their words."""

from llaso.data.layout import LISTEN_PROMPT
from llaso.data.open_prompts import FOLLOW_UPS, clip_kind, interleave, open_samples


def _sample(i: int, text: str, task: str = "ASR", voices: int = 1) -> dict:
    return {"id": f"{task}_{i}", "task": task, "conversations": [{"from": "human", "value": "x<audio>"},
                                                                  {"from": "gpt", "value": text}],
            "voice": [f"a/{i}.wav"] * voices, "meta": {"text": text}}


def test_clip_kind_reads_the_words():
    assert clip_kind(_sample(0, "Where is the station?")) == "question"
    assert clip_kind(_sample(0, "Please turn off the lights.")) == "request"
    assert clip_kind(_sample(0, "whatever", task="IP")) == "request"
    assert clip_kind(_sample(0, "A small boat.")) == "any"


def test_samples_are_deterministic_and_need_one_clip_with_words():
    source = [_sample(i, f"Where is stop {i}?") for i in range(40)] + [_sample(99, ""), _sample(98, "Two.", voices=2)]
    first, again = open_samples(source, seed=3), open_samples(source, seed=3)
    assert first == again and len(first) == 40 and first != open_samples(source, seed=4)
    assert {s["meta"]["source_id"] for s in first} == {f"ASR_{i}" for i in range(40)}
    assert all(s["meta"]["needs_teacher"] and s["conversations"][1]["value"] == "" for s in first)
    audio_only = [s for s in first if s["layout"] == "a"]
    assert audio_only and all(s["conversations"][0]["value"].startswith(LISTEN_PROMPT) for s in audio_only)
    assert len(audio_only) > len(first) / 2  # spoken questions are mostly asked as pure audio
    follow = [s for s in first if len(s["conversations"]) == 4]
    assert follow and all(s["conversations"][2]["value"] in FOLLOW_UPS for s in follow)
    assert len(open_samples(source, seed=3, limit=5)) == 5


def test_interleave_takes_files_in_turn():
    assert interleave([[1, 2, 3], ["a"], [10, 20]]) == [1, "a", 10, 2, 20, 3]
