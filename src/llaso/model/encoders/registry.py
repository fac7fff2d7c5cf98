"""Encoder families by the `model_type` of their transformers config."""

from __future__ import annotations

from typing import Any

from llaso.model.encoders.base import AudioEncoder

_FAMILIES: dict[str, type[AudioEncoder]] = {}


def register_encoder(model_type: str, family: type[AudioEncoder]) -> None:
    """Make configs of `model_type` (e.g. "whisper") buildable as llaso audio encoders."""
    _FAMILIES[model_type] = family


def encoder_types() -> tuple[str, ...]:
    return tuple(_FAMILIES)


def encoder_for(audio_config: Any) -> AudioEncoder:
    """The encoder family of `audio_config` (a transformers config), bound to it."""
    model_type = getattr(audio_config, "model_type", None)
    if model_type not in _FAMILIES:
        raise ValueError(
            f"no llaso audio encoder for model_type {model_type!r}; registered: {', '.join(_FAMILIES)}"
        )
    return _FAMILIES[model_type](audio_config)
