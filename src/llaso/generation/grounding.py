"""Transcript-grounded prompts: each audio encoded once, its transcript written beside it.

A grounded model (`config.transcript_grounding`) reads the words of each audio as text, written
by its own Whisper decoder from the same encoder frames its projector reads, and hears the rest
(who speaks, how, what else sounds) in the audio tokens. Inference, training's preparation and
its held-out checks all build grounded prompts here.
"""

from __future__ import annotations

from typing import Any

import torch

from llaso.errors import LlasoError
from llaso.processing import EncodedConversation

Messages = list[dict[str, Any]]


def is_grounded(model: Any) -> bool:
    return bool(getattr(model.config, "transcript_grounding", False))


@torch.inference_mode()
def ground(model: Any, processor: Any, messages: Messages,
           encoded: EncodedConversation, add_generation_prompt: bool = True) -> EncodedConversation:
    """`encoded` again, with each audio's transcript (from one encoder pass) in the prompt."""
    if not encoded.audio_features:
        return encoded
    frames = frames_of(model, encoded)
    texts = transcripts_of(model, processor, frames, encoded.windows_per_audio, encoded.window_speech)
    grounded = processor.encode(messages, add_generation_prompt=add_generation_prompt, transcripts=texts,
                                audio=processor.audio_windows(encoded))
    grounded.encoder_outputs = frames
    return grounded


@torch.inference_mode()
def frames_of(model: Any, encoded: EncodedConversation) -> list[torch.Tensor]:
    """The encoder frames of each audio window of `encoded` (what the projector reads)."""
    from llaso.processing.features import pad_features

    device = next(model.parameters()).device
    features, mask = pad_features(encoded.audio_features)
    return model.encode_audio(features.to(device), mask.to(device))


@torch.inference_mode()
def ground_texts(model: Any, processor: Any, encoded: EncodedConversation,
                 frames: list[torch.Tensor] | None = None) -> list[str]:
    """The transcripts a grounded prompt of `encoded` would carry, one per audio (from `frames`
    when the caller has them already)."""
    frames = frames if frames is not None else frames_of(model, encoded)
    return transcripts_of(model, processor, frames, encoded.windows_per_audio, encoded.window_speech)


def transcripts_of(model: Any, processor: Any, frames: list[torch.Tensor], windows_per_audio: list[int],
                   window_speech: list[bool] | None = None) -> list[str]:
    """One transcript per audio: its windows' transcripts joined; a window the voice-activity
    detector heard no speech in has none (Whisper would invent words for silence or noise)."""
    tokenizer = processor.transcript_tokenizer
    if tokenizer is None:
        raise LlasoError("this model grounds prompts in transcripts but its processor has no transcript tokenizer")
    speech = window_speech if window_speech else [True] * len(frames)
    heard = [f for f, s in zip(frames, speech) if s]
    decoded = iter(model.transcribe_frames(heard) if heard else [])
    pieces = [tokenizer.decode(next(decoded), skip_special_tokens=True).strip() if s else "" for s in speech]
    out, at = [], 0
    for n in windows_per_audio:
        out.append(" ".join(p for p in pieces[at : at + n] if p))
        at += n
    return out


