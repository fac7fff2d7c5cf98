"""Layout conversion: make audio-instruction and pure-audio samples from text ones.

LLaSO-Instruct's three layouts come from the same text data: (t,a) keeps the instruction as
text and speaks the input; (a,t) speaks the instruction and keeps the input as text; (a) speaks
the whole query. A source sample gives its instruction and input either as Alpaca-style
`instruction`/`input`/`output` fields or as a text-only human turn whose first paragraph is the
instruction and the rest the input.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llaso.data.layout import LISTEN_PROMPT, Layout
from llaso.data.schema import AUDIO_PLACEHOLDER, SampleFormatError, reference_text, sample_label

Speaker = Callable[[str], tuple[np.ndarray, dict]]  # text -> (16 kHz samples, tts info)


@dataclass(frozen=True)
class TextQuery:
    instruction: str
    input: str
    output: str


def text_query(sample: dict) -> TextQuery:
    """Instruction, input and answer of a text-only sample (see module doc)."""
    if "instruction" in sample and "conversations" not in sample:
        return TextQuery(str(sample["instruction"]).strip(), str(sample.get("input") or "").strip(),
                         str(sample.get("output") or ""))
    turns = sample.get("conversations")
    if not isinstance(turns, list) or len(turns) < 2:
        raise SampleFormatError(f"{sample_label(sample)}: needs a human turn and an answer")
    human = next((t for t in turns if t.get("from") in ("human", "user")), None)
    if human is None:
        raise SampleFormatError(f"{sample_label(sample)}: no human turn")
    value = str(human.get("value", ""))
    if AUDIO_PLACEHOLDER in value:
        raise SampleFormatError(f"{sample_label(sample)}: already has audio; convert text-only samples")
    instruction, _, rest = value.strip().partition("\n\n")
    answer = reference_text(sample)
    if answer is None:
        raise SampleFormatError(f"{sample_label(sample)}: no answer (gpt) turn")
    return TextQuery(instruction.strip(), rest.strip(), answer)


def convert_sample(
    sample: dict,
    layout: str,
    speak: Speaker,
    *,
    audio_dir: str | os.PathLike,
    json_dir: str | os.PathLike,
    name: str,
    listen_prompt: str = LISTEN_PROMPT,
) -> dict:
    """A new sample in `layout`, its audio written to `audio_dir/name.wav` (16 kHz WAV).

    The `voice` path is relative to `json_dir`, the folder of the file the sample goes in.
    """
    import soundfile as sf

    try:
        layout = Layout.parse(layout).value
    except ValueError as exc:
        raise SampleFormatError(str(exc)) from None
    query = text_query(sample)
    if layout == "t,a":
        if not query.input:
            raise SampleFormatError(f"{sample_label(sample)}: no input to speak for the (t,a) layout")
        spoken, human = query.input, query.instruction + AUDIO_PLACEHOLDER
    elif layout == "a,t":
        spoken = query.instruction
        human = AUDIO_PLACEHOLDER + (("\n" + query.input) if query.input else "")
    else:
        spoken = query.instruction + ("\n" + query.input if query.input else "")
        human = listen_prompt + AUDIO_PLACEHOLDER
    audio, info = speak(spoken)
    path = Path(audio_dir) / f"{name}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, 16_000, subtype="PCM_16")
    relative = Path(os.path.relpath(path, json_dir)).as_posix()
    converted = {k: v for k, v in sample.items()
                 if k not in ("conversations", "voice", "instruction", "input", "output", "layout")}
    converted["layout"] = layout
    converted["conversations"] = [{"from": "human", "value": human},
                                  {"from": "gpt", "value": query.output}]
    converted["voice"] = [relative]
    converted["tts"] = info
    return converted


def make_speaker(engine: str, voice_name: str, *, augment: bool = False, seed: int = 0,
                 rate: float = 1.0) -> Speaker:
    """A `Speaker` from a TTS engine and voice name, optionally augmenting each clip."""
    from llaso.data.augment import AugmentSpec, apply_augment, random_spec
    from llaso.data.tts.base import Voice
    from llaso.data.tts.registry import get_backend
    from llaso.data.tts.voices import voice_catalogue

    known = {v.id: v for v in voice_catalogue()}
    voice = known.get(f"{engine}:{voice_name}") or Voice(
        f"{engine}:{voice_name}", engine, voice_name, gender="", accent="", speaker=voice_name)
    backend = get_backend(engine)
    rng = np.random.default_rng(seed)

    def speak(text: str) -> tuple[np.ndarray, dict]:
        synthesis = backend.synthesize(text, voice, rate)
        spec = random_spec(rng) if augment else AugmentSpec()
        audio = apply_augment(synthesis.samples, synthesis.sampling_rate, spec, rng)
        return audio, {"engine": engine, "voice": voice.id, "rate": rate, "augment": spec.to_dict()}

    return speak


def layout_tag(layout: str) -> str:
    return Layout.parse(layout).tag
