"""The cascade baseline: a model's own Whisper transcribes each audio, its LLM reads the text.

`Llaso.from_pretrained("cascade:llaso-tiny")` is what a speech-language model must beat: the
same two parts, joined by text instead of audio tokens. Audio parts become text parts with the
transcript, so the conversation has no audio and runs on the untouched base LLM (llaso-tiny
keeps its LoRA apart for text-only conversations).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llaso.errors import LlasoError

PREFIX = "cascade:"
NO_SPEECH = "(no speech)"

Messages = list[dict[str, Any]]


def is_cascade(name: str | os.PathLike) -> bool:
    return os.fspath(name).startswith(PREFIX)


def inner_name(name: str | os.PathLike) -> str:
    return os.fspath(name)[len(PREFIX):]


def whisper_folder(name_or_path: str, home: Path | None = None) -> Path | None:
    """The full Whisper checkpoint (encoder and decoder) a catalog or stage-folder model is
    built on: the `encoder` its training.json names. None for the embedded whisper-tiny.en,
    which `llaso transcribe` runs from its CTranslate2 package (the same weights, faster)."""
    from llaso.checkpoints.base_weights import resolve_base
    from llaso.checkpoints.catalog import LOADABLE, shipped_weights_dir
    from llaso.checkpoints.stage_folder import is_stage_folder, training_info

    folder = shipped_weights_dir(name_or_path) if name_or_path in LOADABLE else Path(name_or_path).expanduser()
    if not is_stage_folder(folder):
        raise LlasoError(
            f"cascade:{name_or_path}: a cascade needs a model built on a named Whisper checkpoint "
            "(a catalog name such as llaso-tiny, or a stage folder of `llaso train`)"
        )
    encoder = training_info(folder).get("encoder")
    if not encoder:
        raise LlasoError(f"cascade:{name_or_path}: its training.json names no Whisper encoder")
    if encoder == "whisper-tiny.en":
        return None
    return resolve_base(str(encoder), home)


def audio_parts_as_text(messages: Messages, transcribe: Callable[[list[Any]], list[str]]) -> Messages:
    """The conversation with every audio part replaced by a text part holding its transcript."""
    from llaso.processing.messages import audio_ref

    refs: list[Any] = []
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            refs += [audio_ref(part, f"message {index}") for part in content
                     if isinstance(part, dict) and part.get("type") in ("audio", "input_audio")]
    if not refs:
        return messages
    texts = iter(transcribe(refs))
    out: Messages = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            out.append(message)
            continue
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") in ("audio", "input_audio"):
                parts.append({"type": "text", "text": next(texts) or NO_SPEECH})
            else:
                parts.append(part)
        out.append({**message, "content": parts})
    return out


def transcriber_for(folder: Path | None, device: str | None = None) -> Callable[[list[Any]], list[str]]:
    """`refs -> transcripts` with the Whisper in `folder` (what `llaso transcribe` runs)."""
    from llaso.inference.transcribe import WhisperTranscriber

    whisper = WhisperTranscriber.from_pretrained(folder, device=device)

    def transcribe(refs: list[Any]) -> list[str]:
        from llaso.audio import load_audio

        arrays = [load_audio(ref.source, source_rate=ref.sampling_rate, name=ref.name) for ref in refs]
        results = whisper.transcribe(arrays)
        for result in results:
            if result.error:
                raise LlasoError(result.error)
        return [result.text or "" for result in results]

    return transcribe
