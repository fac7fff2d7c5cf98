"""The model a stage trains: composed or loaded, initialised from a previous stage, with the
configured parts unfrozen (projector, encoder, LLM in full or through LoRA adapters)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from llaso.checkpoints.adapter_files import ADAPTER_CONFIG, ADAPTER_WEIGHTS, adapter_folder, attach_adapter
from llaso.checkpoints.base_weights import resolve_base
from llaso.checkpoints.stage_folder import PROJECTOR_FILE, load_full_parts
from llaso.errors import LlasoError
from llaso.model.adapter import has_adapter
from llaso.train.config import LoraSection, ModelSection, TrainableSection

log = logging.getLogger(__name__)

CTC_FILE = "ctc_head.safetensors"


def compose_model(section: ModelSection, home: Path | None = None) -> tuple[Any, Any]:
    """Whisper folder + causal-LM folder -> (LlasoForConditionalGeneration, LlasoProcessor),
    projector randomly initialised (seeded)."""
    from llaso.checkpoints.compose import compose_from_base

    template = Path(section.chat_template).read_text(encoding="utf-8") if section.chat_template else None
    return compose_from_base(
        resolve_base(section.encoder, home),
        resolve_base(section.llm, home),
        projector_type=section.projector_type,
        stack_factor=section.stack_factor,
        summary_token=section.summary_token,
        summary_layers=section.summary_layers,
        encoder_mode=section.encoder_mode,
        chat_template=template,
        transcript_grounding=section.transcript_grounding,
    )


def build_model(section: ModelSection, home: Path | None = None) -> tuple[Any, Any]:
    """The stage's starting model: composed from base parts, or loaded by name/path."""
    if section.base is None:
        model, processor = compose_model(section, home)
    else:
        from llaso.checkpoints import LoadOptions, load

        model, processor = load(section.base, LoadOptions(device="cpu", dtype="float32", home=home,
                                                          encoder_mode=section.encoder_mode))
        if has_adapter(model.language_model):  # a stage starts from the model as it answers audio
            model.language_model = model.language_model.merge_and_unload()
            model.config.base_llm_for_text_only = False
        if section.reset_projector:
            reset_projector(model.multi_modal_projector)
    return model, processor


def reset_projector(projector: nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    for module in projector.modules():
        if isinstance(module, nn.Linear):
            with torch.no_grad():
                module.weight.copy_(torch.randn(module.weight.shape, generator=g) / module.weight.shape[1] ** 0.5)
                if module.bias is not None:
                    module.bias.zero_()


def load_stage_output(model: Any, folder: str | os.PathLike, want_lora: bool,
                      lora_section: LoraSection | None = None) -> dict[str, Any]:
    """Start from a previous stage's output folder: its projector, the encoder or LLM if it
    trained them in full, and its LoRA adapter.

    A stage-1 adapter is kept as a trainable adapter when this stage trains LoRA too
    (`want_lora`), and merged into the LLM otherwise. A summary token that the previous stage
    lacked starts fresh; one that now also pools earlier encoder layers (`summary_layers`)
    starts as it was, reading the new layers through zero weights. Every other projector
    weight must be there.
    """
    from safetensors.torch import load_file

    from llaso.model.projector import widen_summary_input

    folder = Path(folder)
    projector = folder / PROJECTOR_FILE
    if not projector.is_file():
        raise LlasoError(f"init_from: {folder} has no {PROJECTOR_FILE} (is it a stage output folder?)")
    state = load_file(str(projector))
    proj = model.multi_modal_projector
    first = "summary.0.weight"
    widened = proj.summary is not None and first in state and state[first].shape != proj.summary[0].weight.shape
    if widened:
        try:
            layers = proj.frame_dim // proj.encoder_dim - 1
            state[first] = widen_summary_input(state[first], proj.encoder_dim, layers)
        except ValueError as exc:
            raise LlasoError(f"init_from: {projector}: the summary token does not fit ({exc})") from None
        log.info("init_from: the summary token now also reads %d earlier encoder layers", layers)
    missing, unexpected = proj.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("summary.")]
    if missing or unexpected:
        raise LlasoError(
            f"init_from: {projector} does not fit this model's projector (missing {missing}, "
            f"unexpected {unexpected}): check projector_type, stack_factor and summary_token"
        )
    full = load_full_parts(model, folder)
    lora = adapter_folder(folder)
    loaded = {"projector": True, "lora": False, "summary_widened": bool(widened)}
    if full:
        loaded["full"] = full
    if lora is not None:
        if want_lora and lora_section is not None and _adapter_targets(lora) != set(lora_section.target_modules):
            model.language_model = widen_adapter(model.language_model, lora, lora_section)
            loaded["lora_widened"] = True
        else:
            model.language_model = attach_adapter(model.language_model, lora, keep_apart=want_lora,
                                                  trainable=want_lora)
        loaded["lora"] = True
    return loaded


def _adapter_targets(folder: Path) -> set[str]:
    return set(json.loads((folder / ADAPTER_CONFIG).read_text(encoding="utf-8"))["target_modules"])


def widen_adapter(language_model: Any, folder: Path, section: LoraSection) -> Any:
    """A LoRA adapter on more modules than the previous stage's (say, the MLPs as well as
    attention): the adapted modules keep their weights, the new ones start at zero (peft's
    B = 0), so the stage starts from the previous stage's model exactly."""
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from safetensors.torch import load_file

    old = json.loads((folder / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    old_targets, new_targets = set(old["target_modules"]), set(section.target_modules)
    if not old_targets < new_targets or old["r"] != section.r or float(old["lora_alpha"]) != section.alpha:
        raise LlasoError(
            f"init_from: the adapter in {folder} (r={old['r']}, alpha={old['lora_alpha']}, on {sorted(old_targets)}) "
            f"can only be widened to more modules with the same r and alpha; this stage asks for r={section.r}, "
            f"alpha={section.alpha} on {sorted(new_targets)}"
        )
    config = LoraConfig(r=section.r, lora_alpha=section.alpha, lora_dropout=section.dropout,
                        target_modules=sorted(new_targets), bias="none", task_type="CAUSAL_LM")
    wrapped = get_peft_model(language_model, config)
    result = set_peft_model_state_dict(wrapped, load_file(str(folder / ADAPTER_WEIGHTS)))
    if result.unexpected_keys:
        raise LlasoError(f"init_from: {folder} holds adapter weights this model lacks: {result.unexpected_keys[:3]}")
    log.info("init_from: the LoRA adapter now also covers %s", sorted(new_targets - old_targets))
    return wrapped


def apply_trainable(model: Any, trainable: TrainableSection, lora: LoraSection) -> None:
    """Freeze everything, then unfreeze the configured parts (adding LoRA adapters if asked)."""
    model.requires_grad_(False)
    if trainable.projector:
        model.multi_modal_projector.requires_grad_(True)
    if trainable.encoder:
        model.audio_tower.requires_grad_(True)
    if trainable.llm == "full":
        lm = model.language_model
        if has_adapter(lm):
            model.language_model = lm.merge_and_unload()
        model.language_model.requires_grad_(True)
    elif trainable.llm == "lora":
        from peft import LoraConfig, get_peft_model

        lm = model.language_model
        if has_adapter(lm):  # adapter from init_from: keep training it
            for name, p in lm.named_parameters():
                p.requires_grad_("lora_" in name)
        else:
            cfg = LoraConfig(
                r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                target_modules=list(lora.target_modules), bias="none", task_type="CAUSAL_LM",
            )
            model.language_model = get_peft_model(lm, cfg)


def count_parameters(module: nn.Module) -> tuple[int, int]:
    total = sum(p.numel() for p in module.parameters())
    learn = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return learn, total
