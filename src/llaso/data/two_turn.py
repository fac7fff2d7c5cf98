"""Two-turn conversations about one clip, derived from single-turn samples that know two facts.

A speaker-gender or accent sample of llaso-mini also carries its transcript (`meta.text`), so
one clip can answer two questions: what the speaker said, and a property of the voice. Asking
them in either order gives conversations where the second question must be answered from the
same audio with the first exchange in context, which single-turn data never teaches.

Follow-ups (`--text-follow-ups`) continue any audio sample with an unrelated text question and
the base LLM's own answer (the text-only replay file), so that a second turn about something
else is not answered from the clip.

    llaso data two-turn data/llaso-mini/train/SGC_ta_train.json data/llaso-mini/train/AC_ta_train.json \\
        --out data/llaso-mini/train/MT_ta_train.json
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from llaso.data.schema import AUDIO_PLACEHOLDER

TASK = "MT"
LAYOUT = "ta"


def instruction_of(sample: dict) -> str:
    """The sample's first human turn without its audio placeholder."""
    text = sample["conversations"][0]["value"].replace(AUDIO_PLACEHOLDER, " ")
    return " ".join(text.split())


def two_turn_sample(sample: dict, transcribe_instruction: str, voice_first: bool, index: int,
                    split: str = "train") -> dict | None:
    """One clip, two exchanges: the sample's own question and a transcription request, in
    the given order. None when the sample has no transcript to ask about."""
    transcript = (sample.get("meta") or {}).get("text")
    if not transcript or len(sample.get("voice") or []) != 1:
        return None
    voice_q, voice_a = instruction_of(sample), sample["conversations"][-1]["value"]
    pairs = [(voice_q, voice_a), (transcribe_instruction, transcript)]
    if not voice_first:
        pairs.reverse()
    (q1, a1), (q2, a2) = pairs
    return {
        "id": f"{TASK}_{LAYOUT}_{split}_{index:06d}", "task": TASK, "layout": LAYOUT,
        "conversations": [
            {"from": "human", "value": f"{AUDIO_PLACEHOLDER}\n{q1}"}, {"from": "gpt", "value": a1},
            {"from": "human", "value": q2}, {"from": "gpt", "value": a2},
        ],
        "voice": list(sample["voice"]),
        "meta": {"source_id": sample.get("id"), "source_task": sample.get("task"), "voice_first": voice_first,
                 "text": transcript},
        **({"tts": sample["tts"]} if "tts" in sample else {}),
    }


def two_turn_samples(samples: Iterable[dict], transcribe_instructions: Sequence[str], seed: int,
                     split: str = "train", limit: int | None = None, start: int = 0) -> list[dict]:
    """Derive two-turn samples; the order of the two questions and the transcription wording
    are drawn per sample from `seed`, so the output is reproducible. Ids count from `start`."""
    rng = np.random.default_rng(seed)
    out: list[dict] = []
    for sample in samples:
        if limit is not None and len(out) >= limit:
            break
        made = two_turn_sample(
            sample, transcribe_instructions[int(rng.integers(len(transcribe_instructions)))],
            voice_first=bool(rng.integers(2)), index=start + len(out), split=split,
        )
        if made is not None:
            out.append(made)
    return out


def follow_up_sample(sample: dict, question: str, answer: str, index: int, split: str = "train") -> dict | None:
    """A single-turn audio sample continued by an unrelated text question and its answer."""
    if len(sample.get("conversations") or []) != 2:
        return None
    return {
        "id": f"{TASK}_{LAYOUT}_{split}_{index:06d}", "task": TASK, "layout": LAYOUT,
        "conversations": [*sample["conversations"], {"from": "human", "value": question},
                          {"from": "gpt", "value": answer}],
        "voice": list(sample["voice"]),
        "meta": {"source_id": sample.get("id"), "source_task": sample.get("task"), "follow_up": "text"},
    }


def follow_up_samples(samples: Iterable[dict], text_samples: Sequence[dict], seed: int, split: str = "train",
                      limit: int | None = None, start: int = 0) -> list[dict]:
    """Continue audio samples with text-only question/answer pairs drawn (seeded) from
    `text_samples`. Ids count from `start`."""
    rng = np.random.default_rng(seed)
    out: list[dict] = []
    for sample in samples:
        if limit is not None and len(out) >= limit:
            break
        text = text_samples[int(rng.integers(len(text_samples)))]["conversations"]
        made = follow_up_sample(sample, text[0]["value"], text[1]["value"], index=start + len(out), split=split)
        if made is not None:
            out.append(made)
    return out
