"""Join an encoder checkpoint and a causal-LM checkpoint into one model, projector aside.

Used for the embedded llaso-tiny, for training stage folders, and by training to start from
any pair of base models. The encoder family is read off the encoder folder's config.
"""

from __future__ import annotations

from pathlib import Path

import torch

from llaso.checkpoints.assemble import assemble_model, folder_state
from llaso.errors import LlasoError
from llaso.model.configuration_llaso import LlasoConfig
from llaso.model.encoders import encoder_for
from llaso.model.modeling_llaso import LlasoForConditionalGeneration
from llaso.processing import LlasoProcessor, ProcessorSettings


def encoder_config(folder: Path):
    """The encoder's transformers config (a Whisper folder's config describes its encoder)."""
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(folder)


def compose_from_base(
    encoder_dir: Path,
    lm_dir: Path,
    *,
    projector_type: str = "mlp2x_gelu",
    stack_factor: int = 4,
    summary_token: bool = False,
    summary_layers: list[int] | tuple[int, ...] = (),
    encoder_mode: str = "trimmed",
    chat_template: str | None = None,
    projector_state: dict[str, torch.Tensor] | None = None,
    transcript_grounding: bool = False,
) -> tuple[LlasoForConditionalGeneration, LlasoProcessor]:
    """Encoder weights from `encoder_dir`, LLM from `lm_dir`; the projector from
    `projector_state` (keys of `multi_modal_projector.state_dict()`) or a seeded random init.
    `transcript_grounding` also takes the Whisper folder's decoder and tokenizer (see LlasoConfig)."""
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    audio_config = encoder_config(encoder_dir)
    family = encoder_for(audio_config)
    settings = ProcessorSettings(stack_factor=stack_factor, summary_token=summary_token, encoder_mode=encoder_mode,
                                 transcript_grounding=transcript_grounding)
    decoding: dict = {}
    transcript_tokenizer = None
    if transcript_grounding:
        from llaso.model.encoders.whisper import decoding_settings

        decoding = decoding_settings(GenerationConfig.from_pretrained(encoder_dir))
        transcript_tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    processor = LlasoProcessor(
        AutoTokenizer.from_pretrained(lm_dir), family.feature_extractor(encoder_dir),
        chat_template, settings, audio_config, transcript_tokenizer,
    )
    config = LlasoConfig(
        audio_config=audio_config,
        text_config=AutoConfig.from_pretrained(lm_dir),
        projector_type=projector_type,
        stack_factor=stack_factor,
        summary_token=summary_token,
        summary_layers=summary_layers,
        audio_token=settings.audio_token,
        audio_token_id=processor.audio_token_id,
        encoder_mode=encoder_mode,
        transcript_grounding=transcript_grounding,
        transcript_decoding=decoding,
    )
    # A full Whisper checkpoint keeps its encoder under model.encoder.; a bare encoder folder
    # (wav2vec2, HuBERT, or an exported WhisperEncoder) has its tensors at the top level.
    encoder_state = folder_state(encoder_dir, "model.encoder.", "audio_tower.")
    if not encoder_state:
        encoder_state = {k: v for k, v in folder_state(encoder_dir, "", "audio_tower.").items()
                         if not k.startswith(("audio_tower.model.decoder.", "audio_tower.proj_out.", "audio_tower.lm_head."))}
        encoder_state = _strip_wrapper(encoder_state)
    state = {**encoder_state, **folder_state(lm_dir, "", "language_model.")}
    if transcript_grounding:
        decoder = folder_state(encoder_dir, "model.decoder.", "transcript_decoder.")
        if not decoder:
            raise LlasoError(f"{encoder_dir}: transcript grounding needs a full Whisper checkpoint (no decoder weights)")
        state.update(decoder)
    if projector_state:
        state.update({f"multi_modal_projector.{k}": v for k, v in projector_state.items()})
    model = assemble_model(config, state, dtype=torch.float32, allow_missing=("multi_modal_projector.",))
    return model, processor


def _strip_wrapper(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`audio_tower.wav2vec2.x` (a ForCTC/ForSequenceClassification checkpoint) -> `audio_tower.x`."""
    for wrapper in ("wav2vec2.", "hubert."):
        prefix = "audio_tower." + wrapper
        if any(k.startswith(prefix) for k in state):
            return {"audio_tower." + k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    return state
