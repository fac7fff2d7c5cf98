"""LlasoForConditionalGeneration: audio_tower -> multi_modal_projector -> language_model."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import AutoModelForCausalLM, PreTrainedModel

from llaso.errors import PlaceholderMismatchError
from llaso.model.configuration_llaso import LlasoConfig
from llaso.model.encoders import encoder_for
from llaso.model.projector import LlasoProjector


def merge_audio_embeddings(
    inputs_embeds: torch.Tensor,
    input_ids: torch.Tensor,
    audio_embeds: torch.Tensor,
    audio_token_id: int,
) -> torch.Tensor:
    """Write audio embeddings [N_audio_tokens, D] into the `audio_token_id` slots, in order.

    Raises when the slots and the audio tokens differ in number: a silent partial merge would
    train or answer on the wrong audio.
    """
    slots = input_ids == audio_token_id
    n_slots = int(slots.sum())
    if n_slots != audio_embeds.shape[0]:
        raise PlaceholderMismatchError(
            f"the prompt has {n_slots} audio token slots but the audio gives {audio_embeds.shape[0]} "
            "embeddings: each audio needs exactly one placeholder, expanded by the processor"
        )
    merged = inputs_embeds.clone()
    merged[slots] = audio_embeds.to(merged.dtype)
    return merged


class LlasoPreTrainedModel(PreTrainedModel):
    config_class = LlasoConfig
    base_model_prefix = ""
    supports_gradient_checkpointing = True
    _no_split_modules = ["WhisperEncoderLayer", "Wav2Vec2EncoderLayer", "HubertEncoderLayer"]
    _supports_sdpa = True
    _supports_flash_attn = True
    main_input_name = "input_ids"


class LlasoForConditionalGeneration(LlasoPreTrainedModel):
    """Any audio encoder, a projector and any transformers causal LM, joined at audio slots."""

    def __init__(self, config: LlasoConfig) -> None:
        super().__init__(config)
        self.encoder_family = encoder_for(config.audio_config)
        self.audio_tower = self.encoder_family.build()
        self.multi_modal_projector = LlasoProjector(
            config.projector_type,
            encoder_dim=self.encoder_family.hidden_size,
            llm_dim=config.text_config.hidden_size,
            stack_factor=config.stack_factor,
            summary_token=getattr(config, "summary_token", False),
            extra_layers=len(self.summary_layers),
        )
        self.language_model = AutoModelForCausalLM.from_config(config.text_config)
        if getattr(config, "transcript_grounding", False):
            from llaso.model.encoders.whisper import build_transcript_decoder

            self.transcript_decoder = build_transcript_decoder(config.audio_config)
        self.post_init()

    @property
    def summary_layers(self) -> list[int]:
        return list(getattr(self.config, "summary_layers", []) or [])

    # -- plumbing the LLM's embeddings through, as transformers expects -------------------
    def get_input_embeddings(self) -> nn.Module:
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.language_model.set_input_embeddings(value)

    def get_output_embeddings(self) -> nn.Module:
        return self.language_model.get_output_embeddings()

    # -- audio ----------------------------------------------------------------------------
    def encode_audio(
        self, input_features: torch.Tensor, feature_attention_mask: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """input_features [N, C, T] -> one [T_enc_i, D_enc] tensor per audio window
        ([T_enc_i, D_enc * (1 + len(summary_layers))] with summary layers: see AudioEncoder.encode)."""
        input_features = input_features.to(next(self.audio_tower.parameters()).dtype)
        if feature_attention_mask is None:
            lengths = [input_features.shape[-1]] * input_features.shape[0]
        else:
            lengths = feature_attention_mask.sum(-1).tolist()
        return self.encoder_family.encode(self.audio_tower, input_features, lengths, extra_layers=self.summary_layers)

    def transcribe_frames(self, encoder_outputs: list[torch.Tensor]) -> list[list[int]]:
        """Whisper token ids of each window's transcript, written by the model's Whisper decoder
        from the frames the projector reads (the last layer's output; see transcript_grounding)."""
        from llaso.model.encoders.whisper import greedy_transcripts

        if not hasattr(self, "transcript_decoder"):
            raise ValueError("this model has no transcript decoder (config.transcript_grounding is off)")
        width = self.encoder_family.hidden_size
        return greedy_transcripts(self.transcript_decoder, [f[:, :width] for f in encoder_outputs],
                                  self.config.transcript_decoding)

    def project_audio(self, encoder_outputs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Encoder frames per window -> LLM embeddings per window ([ceil(T/k), D_llm] each)."""
        return [self.multi_modal_projector(frames) for frames in encoder_outputs]

    def audio_embeddings(
        self,
        input_features: torch.Tensor | None = None,
        feature_attention_mask: torch.Tensor | None = None,
        encoder_outputs: list[torch.Tensor] | None = None,
    ) -> torch.Tensor | None:
        """All audio windows of a batch, projected and concatenated in prompt order."""
        if encoder_outputs is None:
            if input_features is None:
                return None
            encoder_outputs = self.encode_audio(input_features, feature_attention_mask)
        if not encoder_outputs:
            return None
        return torch.cat(self.project_audio(encoder_outputs), dim=0)

    def embed_inputs(
        self,
        input_ids: torch.Tensor,
        input_features: torch.Tensor | None = None,
        feature_attention_mask: torch.Tensor | None = None,
        encoder_outputs: list[torch.Tensor] | None = None,
        audio_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Token embeddings with projected audio written into the audio slots: [B, L, D_llm]."""
        audio_token_id = self.config.audio_token_id
        slots = input_ids == audio_token_id
        safe_ids = input_ids.masked_fill(slots, 0)  # the audio token has no embedding row
        embeds = self.get_input_embeddings()(safe_ids)
        if audio_embeds is None:
            audio_embeds = self.audio_embeddings(input_features, feature_attention_mask, encoder_outputs)
        if audio_embeds is None:
            if bool(slots.any()):
                raise PlaceholderMismatchError(
                    f"the prompt has {int(slots.sum())} audio token slots but no audio was given"
                )
            return embeds
        return merge_audio_embeddings(embeds, input_ids, audio_embeds, audio_token_id)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        input_features: torch.Tensor | None = None,
        feature_attention_mask: torch.Tensor | None = None,
        encoder_outputs: list[torch.Tensor] | None = None,
        audio_embeds: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        cache: Any = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs: Any,
    ) -> Any:
        """Causal-LM forward over merged text and audio embeddings.

        `encoder_outputs` (cached frozen-encoder frames) or `audio_embeds` (projected) can be
        passed instead of `input_features` to skip that work, e.g. during training.
        """
        if inputs_embeds is None:
            if input_ids is None:
                raise ValueError("pass input_ids or inputs_embeds")
            inputs_embeds = self.embed_inputs(
                input_ids, input_features, feature_attention_mask, encoder_outputs, audio_embeds
            )
        return self.language_model(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache if cache is not None else kwargs.pop("past_key_values", None),
            use_cache=use_cache,
            labels=labels,
            logits_to_keep=logits_to_keep,
            **kwargs,
        )
