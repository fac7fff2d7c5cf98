"""Open questions about what a clip says, derived from spoken samples that know their words.

A speech-language model must answer what a cascade of its own parts would (its Whisper's
transcript read by its LLM), and then some. Closed-set corpora teach labels; these samples ask
about the content instead: summarise, rephrase, answer the spoken question, act on the spoken
request, and a follow-up turn about the same clip. The answers come later from the text LLM
itself (`llaso train --make-teacher`): it answers the text version, the model learns to answer
the spoken one the same way.

    llaso data open-prompts data/llaso-mini/train/ASR_ta_train.json ... --out derived/OPEN_ta_train.json
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from llaso.data.layout import LISTEN_PROMPT
from llaso.data.schema import AUDIO_PLACEHOLDER

TASK = "OPEN"

# (instruction before the audio, the kind of clip it fits): "any" speech, "question", "request".
INSTRUCTIONS: tuple[tuple[str, str], ...] = (
    ("What is the speaker saying?", "any"),
    ("Summarise what you hear in a few words.", "any"),
    ("Say what the speaker said in other words.", "any"),
    ("What is this recording about?", "any"),
    ("Write down what was said, then explain it briefly.", "any"),
    ("Is the speaker asking a question, making a request, or stating something?", "any"),
    ("Answer the question in the recording.", "question"),
    ("Reply to the speaker.", "any"),
    ("Respond to the request in this recording.", "request"),
    ("What does the speaker want?", "request"),
)
FOLLOW_UPS: tuple[str, ...] = (
    "Can you say that more briefly?", "What was the main point?", "Why might someone say that?",
    "Repeat the key words.", "Give one more detail about it.", "Is that a question or a statement?",
    "Answer it in one sentence.", "What should happen next?",
)


def clip_kind(sample: dict) -> str:
    """"question", "request" or "any", from what the clip's words look like."""
    text = ((sample.get("meta") or {}).get("text") or "").strip().lower()
    if text.endswith("?"):
        return "question"
    if (sample.get("task") == "IP") or text.startswith(("please", "can you", "could you", "remind", "set ", "turn ",
                                                          "play ", "call ", "add ", "wake ")):
        return "request"
    return "any"


def open_sample(sample: dict, instruction: str, index: int, layout_audio_only: bool, follow_up: str | None,
                split: str = "train") -> dict | None:
    """One open question about the sample's single clip (None without one clip and its words).
    The answers are placeholders until the teacher fills them in."""
    meta = sample.get("meta") or {}
    text = meta.get("text")
    if not text or len(sample.get("voice") or []) != 1:
        return None
    human = (LISTEN_PROMPT if layout_audio_only else instruction) + AUDIO_PLACEHOLDER
    conversations = [{"from": "human", "value": human}, {"from": "gpt", "value": ""}]
    if follow_up:
        conversations += [{"from": "human", "value": follow_up}, {"from": "gpt", "value": ""}]
    return {
        "id": f"{TASK}_{'a' if layout_audio_only else 'ta'}_{split}_{index:06d}", "task": TASK,
        "layout": "a" if layout_audio_only else "t,a", "conversations": conversations,
        "voice": list(sample["voice"]),
        "meta": {"text": text, "source_id": sample.get("id"), "source_task": sample.get("task"),
                 "needs_teacher": True},
        **({"tts": sample["tts"]} if "tts" in sample else {}),
    }


def open_samples(samples: Iterable[dict], seed: int, *, audio_only_share: float = 0.3,
                 follow_up_share: float = 0.3, limit: int | None = None, split: str = "train") -> list[dict]:
    """Open questions for clips with known words; instruction, layout and follow-up drawn per
    sample from `seed`. A clip that is itself a question is often asked as pure audio."""
    rng = np.random.default_rng(seed)
    out: list[dict] = []
    for sample in samples:
        if limit is not None and len(out) >= limit:
            break
        kind = clip_kind(sample)
        fitting = [text for text, fits in INSTRUCTIONS if fits in ("any", kind)]
        audio_only = rng.random() < (0.7 if kind in ("question", "request") else audio_only_share)
        follow = FOLLOW_UPS[int(rng.integers(len(FOLLOW_UPS)))] if rng.random() < follow_up_share else None
        made = open_sample(sample, fitting[int(rng.integers(len(fitting)))], len(out), audio_only, follow, split)
        if made is not None:
            out.append(made)
    return out


def interleave(groups: Sequence[Sequence[dict]]) -> list[dict]:
    """Samples of several files taken in turn, so a capped read sees every source."""
    out: list[dict] = []
    for row in range(max((len(g) for g in groups), default=0)):
        out += [g[row] for g in groups if row < len(g)]
    return out
