"""Ask a clip another question, one that what its build recorded about it answers.

Every llaso-mini clip records how it was made: the TTS voice of a speech clip (`tts.voice`,
whose gender and accent the voice catalogue knows) and the family and source of a synthesized
note (`synth`). So the 39,000 transcription clips can also be speaker-gender or accent samples,
and the notes made for pitch, velocity and source can be instrument samples. The corpus speaks
1,200 clips per voice question, few enough for a small model to learn by heart: llaso-tiny 2d
answered gender on 99.5 % of its training clips and 76 % of held-out voices, accent 90.5 % and
36 %. With many times more distinct clips, the cheap route to a low loss is the voice itself.

    llaso data relabel data/llaso-mini/train/ASR_ta_train.json --task SGC --limit 8000 \\
        --out data/llaso-mini/derived/SGC_ta_train.json
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from llaso.data.build_mini import ACCENT_LABELS, place_audio, task_instruction
from llaso.data.tasks import load_templates
from llaso.data.tts.base import Voice
from llaso.data.tts.voices import voice_catalogue


def _voice(field: str) -> Callable[[dict, dict[str, Voice]], str | None]:
    def answer(sample: dict, voices: dict[str, Voice]) -> str | None:
        tts = sample.get("tts")
        voice = voices.get(str(tts.get("voice"))) if isinstance(tts, dict) else None
        # whispered clips belong to the speaking-style task
        return getattr(voice, field) if voice is not None and voice.style == "Normal" else None

    return answer


def _note(field: str) -> Callable[[dict, dict[str, Voice]], str | None]:
    def answer(sample: dict, voices: dict[str, Voice]) -> str | None:
        synth = sample.get("synth")
        return str(synth[field]) if isinstance(synth, dict) and synth.get(field) is not None else None

    return answer


ANSWERS: dict[str, Callable[[dict, dict[str, Voice]], str | None]] = {
    "SGC": _voice("gender"), "AC": _voice("accent"), "IC": _note("family"), "ISC": _note("source"),
}
OWN_LABELS = {"AC": ACCENT_LABELS}  # llaso-mini's own label set, listed in every question


def relabel_answer(sample: dict, task: str, voices: dict[str, Voice] | None = None) -> str | None:
    """The answer to `task`'s question about a one-clip sample, from its build record; None when
    the record does not say."""
    if task not in ANSWERS:
        raise ValueError(f"clips can be relabelled for {sorted(ANSWERS)}, not {task!r}")
    if len(sample.get("voice") or []) != 1:
        return None
    return ANSWERS[task](sample, voices if voices is not None else {v.id: v for v in voice_catalogue()})


def relabelled_sample(sample: dict, task: str, answer: str, human: str, index: int, split: str = "train") -> dict:
    """The sample's clip asked `human` (instruction and placeholder), answered `answer`."""
    meta = sample.get("meta") or {}
    record = {key: sample[key] for key in ("tts", "synth") if key in sample}
    return {
        "id": f"{task}_ta_{split}_r{index:06d}", "task": task, "layout": "t,a",
        "conversations": [{"from": "human", "value": human}, {"from": "gpt", "value": answer}],
        "voice": list(sample["voice"]),
        **record,
        "meta": {"source_id": sample.get("id"), "source_task": sample.get("task"),
                 **({"text": meta["text"]} if "text" in meta else {})},
    }


def relabelled_samples(samples: Iterable[dict], task: str, seed: int, split: str = "train",
                       limit: int | None = None) -> list[dict]:
    """`task` questions about `samples`' clips, the same number per answer, in source order.

    The corpus' own closed-set questions pick the label first; transcription clips lean towards
    American men (the Piper voice), so without balancing the derived set would teach the prior.
    Wording and audio placement are drawn from `seed`.
    """
    voices = {v.id: v for v in voice_catalogue()}
    by_answer: dict[str, list[tuple[int, dict, str]]] = {}
    for order, sample in enumerate(samples):
        answer = relabel_answer(sample, task, voices)
        if answer is not None:
            by_answer.setdefault(answer, []).append((order, sample, answer))
    if not by_answer:
        return []
    per_answer = min(len(group) for group in by_answer.values())
    if limit is not None:
        per_answer = min(per_answer, limit // len(by_answer))
    chosen = sorted((item for group in by_answer.values() for item in group[:per_answer]), key=lambda i: i[0])
    rng = np.random.default_rng(seed)
    templates = load_templates()
    out = []
    for _, sample, answer in chosen:
        human = place_audio(task_instruction(templates, task, rng, OWN_LABELS.get(task)), rng)
        out.append(relabelled_sample(sample, task, answer, human, len(out), split))
    return out
