"""The audio encoders llaso can put in front of an LLM, registered by name.

An entry knows everything that differs between encoder families: how to build the module from
its transformers config, how to turn a window of 16 kHz samples into its input features, how
many frames those features become (trimmed to the clip or padded to the window), and how to run
it. The model, the processor and the checkpoint loaders ask the registry instead of naming
Whisper. A new family is one module here plus one `register_encoder` line below.
"""

from __future__ import annotations

from llaso.model.encoders.base import AudioEncoder, EncoderFrames
from llaso.model.encoders.registry import encoder_for, encoder_types, register_encoder
from llaso.model.encoders.wav2vec2 import Wav2Vec2Family
from llaso.model.encoders.whisper import WhisperFamily

register_encoder("whisper", WhisperFamily)
register_encoder("wav2vec2", Wav2Vec2Family)
register_encoder("hubert", Wav2Vec2Family)

__all__ = ["AudioEncoder", "EncoderFrames", "encoder_for", "encoder_types", "register_encoder"]
