"""LlasoConfig: which encoder, which projector, which LLM, and how audio becomes tokens."""

from __future__ import annotations

from typing import Any

from transformers import CONFIG_MAPPING, PreTrainedConfig, WhisperConfig

from llaso.model.encoders import encoder_types
from llaso.model.encoders.base import ENCODER_MODES


def _as_config(value: Any, default_type: str) -> PreTrainedConfig:
    if isinstance(value, PreTrainedConfig):
        return value
    value = dict(value or {})
    model_type = value.pop("model_type", default_type)
    if model_type not in CONFIG_MAPPING:
        raise ValueError(f"unknown sub-model type {model_type!r}")
    return CONFIG_MAPPING[model_type](**value)


class LlasoConfig(PreTrainedConfig):
    """Configuration of an audio encoder -> projector -> causal LM model.

    `encoder_mode="trimmed"` runs the encoder on each clip's real length and `stack_factor`
    concatenates k encoder frames per LLM token (about 50/k tokens per second of audio).
    `encoder_mode="padded"` with `stack_factor=1` is the fidelity mode of the official
    LLaSO-Base: every 30 s window padded, 1,500 tokens per window.
    `summary_token` adds one pooled token per window after the stacked ones (see LlasoProjector);
    `summary_layers` pools earlier encoder layers into it as well (0 = the convolutions' output,
    i = layer i), where speaker and timbre cues are stronger than in the last layer.
    `base_llm_for_text_only`: with an LLM adapter kept apart, conversations without audio skip
    it (see llaso.model.adapter).
    `transcript_grounding`: the model also holds Whisper's decoder, which writes a transcript of
    each audio from the same encoder frames the projector reads; the processor puts it beside
    the audio's tokens, so the LLM reads the words as text and hears the rest in the audio
    tokens. `transcript_decoding` holds Whisper's decoding settings (prompt, end token,
    suppressed tokens).
    """

    model_type = "llaso"
    sub_configs = {"audio_config": PreTrainedConfig, "text_config": PreTrainedConfig}

    def __init__(
        self,
        audio_config: dict | PreTrainedConfig | None = None,
        text_config: dict | PreTrainedConfig | None = None,
        audio_encoder_type: str | None = None,
        projector_type: str = "mlp2x_gelu",
        stack_factor: int = 4,
        summary_token: bool = False,
        summary_layers: list[int] | tuple[int, ...] = (),
        audio_token: str = "<|audio|>",
        audio_token_id: int | None = None,
        encoder_mode: str = "trimmed",
        max_audio_windows: int = 4,
        audio_start_text: str = "",
        audio_end_text: str = "",
        base_llm_for_text_only: bool = False,
        transcript_grounding: bool = False,
        transcript_decoding: dict | None = None,
        **kwargs: Any,
    ) -> None:
        if encoder_mode not in ENCODER_MODES:
            raise ValueError(f"encoder_mode must be one of {ENCODER_MODES}, got {encoder_mode!r}")
        if stack_factor < 1:
            raise ValueError(f"stack_factor must be >= 1, got {stack_factor}")
        self.audio_config = _as_config(audio_config, "whisper") if audio_config is not None else WhisperConfig()
        self.text_config = _as_config(text_config, "llama") if text_config is not None else CONFIG_MAPPING["llama"]()
        # The encoder family is the audio config's own type (see llaso.model.encoders).
        self.audio_encoder_type = self.audio_config.model_type
        if audio_encoder_type not in (None, self.audio_encoder_type):
            raise ValueError(f"audio_encoder_type {audio_encoder_type!r} disagrees with the audio config "
                             f"({self.audio_encoder_type!r})")
        if self.audio_encoder_type not in encoder_types():
            raise ValueError(f"no llaso audio encoder for {self.audio_encoder_type!r}; "
                             f"registered: {', '.join(encoder_types())}")
        self.projector_type = projector_type
        self.stack_factor = int(stack_factor)
        self.summary_token = bool(summary_token)
        self.summary_layers = [int(i) for i in summary_layers]
        if self.summary_layers and not self.summary_token:
            raise ValueError("summary_layers needs summary_token=True")
        self.audio_token = audio_token
        self.audio_token_id = audio_token_id
        self.encoder_mode = encoder_mode
        self.max_audio_windows = int(max_audio_windows)
        self.audio_start_text = audio_start_text
        self.audio_end_text = audio_end_text
        self.base_llm_for_text_only = bool(base_llm_for_text_only)
        self.transcript_grounding = bool(transcript_grounding)
        if self.transcript_grounding and self.audio_encoder_type != "whisper":
            raise ValueError("transcript_grounding needs a Whisper encoder (its decoder writes the transcript)")
        self.transcript_decoding = dict(transcript_decoding or {})
        kwargs.setdefault("tie_word_embeddings", False)
        super().__init__(**kwargs)

    @property
    def fidelity(self) -> bool:
        """True when audio is encoded exactly as the official LLaSO-Base does."""
        return self.encoder_mode == "padded" and self.stack_factor == 1
