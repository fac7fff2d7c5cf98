"""A `llaso train` stage folder: the few files a stage trains, on top of named base models.

This is also the layout of llaso-tiny's package folder, so a freshly trained stage loads
exactly like the shipped model, and the trainer that writes these files and every loader that
reads them share the names below.

- `projector.safetensors`: the projector (always);
- `lora/`: a peft adapter on the LLM (`adapter_files`);
- `language_model.safetensors`: the whole LLM, when the stage trained it in full;
- `audio_tower.safetensors`: the whole encoder, when the stage trained it;
- `training.json`: the config, figures, and the settings a loader needs (base models by name
  or folder, projector type, stack factor, summary token, encoder mode).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch

from llaso.atomic import atomic_path, write_json_atomic
from llaso.checkpoints.adapter_files import ADAPTER_DIR, adapter_folder, attach_adapter, save_adapter
from llaso.errors import LlasoError
from llaso.model.adapter import has_adapter

PROJECTOR_FILE = "projector.safetensors"
TRAINING_FILE = "training.json"
LLM_FILE = "language_model.safetensors"
ENCODER_FILE = "audio_tower.safetensors"
INFERENCE_FILES = (PROJECTOR_FILE, TRAINING_FILE, ADAPTER_DIR, LLM_FILE, ENCODER_FILE)


class UntrainedProjectorWarning(UserWarning):
    """A stage-folder model loaded without trained projector weights: it will not understand audio."""


def training_info(folder: Path) -> dict[str, Any]:
    path = Path(folder) / TRAINING_FILE
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LlasoError(f"{path}: unreadable ({exc})") from None
    return info if isinstance(info, dict) else {}


def is_stage_folder(folder: Path) -> bool:
    """A folder `llaso train` wrote (a stage output, or its shipped export)."""
    folder = Path(folder)
    return (folder / PROJECTOR_FILE).is_file() and (folder / TRAINING_FILE).is_file()


def load_full_parts(model: Any, folder: str | Path) -> list[str]:
    """Put the encoder and/or LLM a stage trained in full into `model` (before any adapter is
    attached); returns the files it loaded. A file may hold a subset of the part's tensors (a
    hand-made delta): those replace the base's, the rest stay; a tensor the part lacks is an error."""
    from safetensors.torch import load_file

    folder = Path(folder)
    loaded = []
    for file, part, what in ((ENCODER_FILE, "audio_tower", "encoder"), (LLM_FILE, "language_model", "LLM")):
        path = folder / file
        if not path.is_file():
            continue
        result = getattr(model, part).load_state_dict(load_file(str(path)), strict=False)
        if result.unexpected_keys:
            raise LlasoError(f"{path} does not fit this model's {what} (unexpected {result.unexpected_keys[:3]})")
        loaded.append(file)
    if LLM_FILE in loaded:
        model.language_model.tie_weights()  # a tied LM head is stored once, under the embeddings' name
    return loaded


def load_stage_folder(folder: Path, *, home: Path | None = None, encoder_mode: str | None = None,
                      stack_factor: int | None = None, name: str | None = None) -> tuple[Any, Any]:
    """The stage's starting model with its trained parts put in.

    The starting model is named in training.json: base encoder and LLM folders (`encoder`,
    `llm`: composed, projector from this folder), or a whole model (`base`, say `llaso-tiny`,
    whose own adapter is merged first, as training saw it). Overriding `stack_factor` away
    from the trained one leaves the projector untrained (useful only to measure another token
    budget on the same model), with a warning."""
    from llaso.checkpoints.assemble import read_safetensors
    from llaso.checkpoints.base_weights import BASE_MODELS

    folder = Path(folder)
    info = training_info(folder)
    encoder, llm, base = info.get("encoder"), info.get("llm"), info.get("base")
    if base is None and encoder and encoder == llm and encoder not in BASE_MODELS:
        base = encoder  # stage folders written before `base` was recorded
    if not base and not (encoder and llm):
        raise LlasoError(f"{folder / TRAINING_FILE}: names no starting model ('base', or 'encoder' and 'llm')")
    trained_k = int(info.get("stack_factor", 4))
    stack_factor = stack_factor or trained_k
    projector_state = None
    if (folder / PROJECTOR_FILE).is_file() and stack_factor == trained_k:
        projector_state = read_safetensors(folder / PROJECTOR_FILE)
    else:
        warnings.warn(
            f"{name or folder}: no trained projector for stack_factor {stack_factor}: audio is mapped by an "
            "untrained projector and answers about audio will be meaningless",
            UntrainedProjectorWarning,
            stacklevel=3,
        )
    if base:
        model, processor = _base_model(base, home, encoder_mode)
        if projector_state is not None:
            model.multi_modal_projector.load_state_dict(projector_state)
    else:
        from llaso.checkpoints.base_weights import resolve_base
        from llaso.checkpoints.compose import compose_from_base

        model, processor = compose_from_base(
            resolve_base(encoder, home),
            resolve_base(llm, home),
            projector_type=info.get("projector_type", "mlp2x_gelu"),
            stack_factor=stack_factor,
            summary_token=bool(info.get("summary_token", False)),
            summary_layers=info.get("summary_layers", []),
            encoder_mode=encoder_mode or info.get("encoder_mode", "trimmed"),
            projector_state=projector_state,
            transcript_grounding=bool(info.get("transcript_grounding", False)),
        )
    load_full_parts(model, folder)
    lora = adapter_folder(folder)
    if lora is not None:
        # Kept apart so that text-only conversations run on the base LLM exactly as it ships.
        text_to_base = bool(info.get("base_llm_for_text_only", True))
        model.language_model = attach_adapter(model.language_model, lora, keep_apart=text_to_base)
        model.config.base_llm_for_text_only = text_to_base
    model.config.name_or_path = name or str(folder)
    return model.eval(), processor


def _base_model(base: str, home: Path | None, encoder_mode: str | None) -> tuple[Any, Any]:
    """A whole model a stage started from, its adapter merged in (the stage trained on top of it)."""
    from llaso.checkpoints.loader import LoadOptions, load

    model, processor = load(base, LoadOptions(device="cpu", dtype="float32", home=home, encoder_mode=encoder_mode))
    if has_adapter(model.language_model):
        model.language_model = model.language_model.merge_and_unload()
        model.config.base_llm_for_text_only = False
    return model, processor


def _save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu().float() for k, v in tensors.items()}, str(tmp))


def _untied(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the second name of tied tensors (an LM head tied to the embeddings)."""
    seen: set[int] = set()
    out = {}
    for k, v in state.items():
        if v.data_ptr() in seen:
            continue
        seen.add(v.data_ptr())
        out[k] = v
    return out


def write_stage_folder(model: Any, folder: Path, info: dict[str, Any], *, full_llm: bool = False,
                       full_encoder: bool = False, extra: dict[str, dict[str, torch.Tensor]] | None = None) -> None:
    """Write what a stage trained: the projector, the LLM adapter (or the LLM in full), the
    encoder if it learnt, `extra` files (name -> tensors, e.g. a CTC head), and training.json
    with `info` plus the settings `load_stage_folder` reads back."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _save_tensors(model.multi_modal_projector.state_dict(), folder / PROJECTOR_FILE)
    lm = model.language_model
    if has_adapter(lm):
        save_adapter(lm, folder / ADAPTER_DIR)
    elif full_llm:
        _save_tensors(_untied(lm.state_dict()), folder / LLM_FILE)
    if full_encoder:
        _save_tensors(model.audio_tower.state_dict(), folder / ENCODER_FILE)
    for file, tensors in (extra or {}).items():
        _save_tensors(tensors, folder / file)
    config = model.config
    write_json_atomic(folder / TRAINING_FILE, {
        "projector_type": config.projector_type,
        "stack_factor": config.stack_factor,
        "summary_token": bool(getattr(config, "summary_token", False)),
        "summary_layers": list(getattr(config, "summary_layers", []) or []),
        "encoder_mode": config.encoder_mode,
        "transcript_grounding": bool(getattr(config, "transcript_grounding", False)),
        **info,
    })
