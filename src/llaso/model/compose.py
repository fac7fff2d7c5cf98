"""Join a Whisper checkpoint and a causal-LM checkpoint into one model, projector aside.

Used for the embedded llaso-tiny and by training to start from any pair of base models.
"""

from __future__ import annotations

from pathlib import Path

import torch

from llaso.errors import LlasoError
from llaso.model.configuration_llaso import LlasoConfig
from llaso.model.loading import assemble_model, read_safetensors
from llaso.model.modeling_llaso import LlasoForConditionalGeneration
from llaso.processing import LlasoProcessor, ProcessorSettings


def folder_state(folder: Path, prefix_from: str, prefix_to: str) -> dict[str, torch.Tensor]:
    """All *.safetensors tensors of a folder, keys re-rooted (see read_safetensors)."""
    files = sorted(Path(folder).glob("*.safetensors"))
    if not files:
        raise LlasoError(f"{folder}: no *.safetensors weights (convert .bin checkpoints first)")
    state: dict[str, torch.Tensor] = {}
    for file in files:
        state.update(read_safetensors(file, prefix_from, prefix_to))
    return state


def compose_from_base(
    whisper_dir: Path,
    lm_dir: Path,
    *,
    projector_type: str = "mlp2x_gelu",
    stack_factor: int = 4,
    summary_token: bool = False,
    summary_layers: list[int] | tuple[int, ...] = (),
    encoder_mode: str = "trimmed",
    chat_template: str | None = None,
    projector_state: dict[str, torch.Tensor] | None = None,
) -> tuple[LlasoForConditionalGeneration, LlasoProcessor]:
    """Encoder weights from `whisper_dir`, LLM from `lm_dir`; the projector from
    `projector_state` (keys of `multi_modal_projector.state_dict()`) or a seeded random init."""
    from transformers import AutoConfig, AutoTokenizer, WhisperConfig, WhisperFeatureExtractor

    settings = ProcessorSettings(stack_factor=stack_factor, summary_token=summary_token, encoder_mode=encoder_mode)
    processor = LlasoProcessor(
        AutoTokenizer.from_pretrained(lm_dir), WhisperFeatureExtractor.from_pretrained(whisper_dir),
        chat_template, settings,
    )
    config = LlasoConfig(
        audio_config=WhisperConfig.from_pretrained(whisper_dir),
        text_config=AutoConfig.from_pretrained(lm_dir),
        projector_type=projector_type,
        stack_factor=stack_factor,
        summary_token=summary_token,
        summary_layers=summary_layers,
        audio_token=settings.audio_token,
        audio_token_id=processor.audio_token_id,
        encoder_mode=encoder_mode,
    )
    encoder_state = folder_state(whisper_dir, "model.encoder.", "audio_tower.")
    if not encoder_state:  # a bare WhisperEncoder folder
        encoder_state = folder_state(whisper_dir, "", "audio_tower.")
    state = {**encoder_state, **folder_state(lm_dir, "", "language_model.")}
    if projector_state:
        state.update({f"multi_modal_projector.{k}": v for k, v in projector_state.items()})
    model = assemble_model(config, state, dtype=torch.float32, allow_missing=("multi_modal_projector.",))
    return model, processor
