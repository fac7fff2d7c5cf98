"""What a stage leaves behind, and the two exports users want from it.

Stage output folder (what `init_from` and the llaso-tiny loader read):
- `projector.safetensors`: the projector's state dict (keys as `multi_modal_projector`'s);
- `lora/adapter_config.json` + `lora/adapter_model.safetensors`: the LLM adapter (peft), if any;
- `language_model.safetensors`: the full LLM, only when the stage trained it in full;
- `audio_tower.safetensors`: the encoder, only when the stage trained it;
- `ctc_head.safetensors`: the CTC head, if one was trained (not needed for inference);
- `training.json`: the config, the run's figures, and the settings the loader needs
  (projector_type, stack_factor, encoder_mode).
Exports: `ship` copies the few-MB inference files into a package folder (how llaso-tiny gets
its trained weights); `merge` writes a full self-contained checkpoint with LoRA merged in.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from llaso.atomic import atomic_path, write_json_atomic
from llaso.errors import LlasoError
from llaso.model.adapter import ADAPTER_DIR, has_adapter, save_adapter
from llaso.train.config import StageConfig
from llaso.model.stage_files import ENCODER_FILE, LLM_FILE, PROJECTOR_FILE, TRAINING_FILE
from llaso.train.model_setup import CTC_FILE

SHIPPED = (PROJECTOR_FILE, TRAINING_FILE, ADAPTER_DIR, LLM_FILE, ENCODER_FILE)


def _save(tensors: dict[str, torch.Tensor], path: Path) -> None:
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


def write_stage_output(module: Any, processor: Any, cfg: StageConfig, out_dir: Path, info: dict[str, Any]) -> None:
    model = module.model
    out_dir.mkdir(parents=True, exist_ok=True)
    _save(model.multi_modal_projector.state_dict(), out_dir / PROJECTOR_FILE)
    lm = model.language_model
    if has_adapter(lm):
        save_adapter(lm, out_dir / ADAPTER_DIR)
    elif cfg.trainable.llm == "full":
        _save(_untied(lm.state_dict()), out_dir / LLM_FILE)
    if cfg.trainable.encoder:
        _save(model.audio_tower.state_dict(), out_dir / ENCODER_FILE)
    if module.ctc_head is not None:
        _save(module.ctc_head.state_dict(), out_dir / CTC_FILE)
    config = model.config
    write_json_atomic(
        out_dir / TRAINING_FILE,
        {
            "name": cfg.name,
            "projector_type": config.projector_type,
            "stack_factor": config.stack_factor,
            "summary_token": bool(getattr(config, "summary_token", False)),
            "summary_layers": list(getattr(config, "summary_layers", []) or []),
            "encoder_mode": config.encoder_mode,
            "encoder": cfg.model.encoder or cfg.model.base,
            "llm": cfg.model.llm or cfg.model.base,
            "trainable": cfg.trainable.model_dump(),
            "lora": cfg.lora.model_dump() if cfg.trainable.llm == "lora" else None,
            "seed": cfg.seed,
            "config": cfg.model_dump(mode="json"),
            **info,
        },
    )


SHIP_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def ship(stage_dir: Path, target: Path, extra_info: dict[str, Any] | None = None,
         dtype: str = "float32") -> list[Path]:
    """Copy a stage's inference files into `target` (e.g. the llaso-tiny package folder).

    `dtype` "float16" halves the files that go into a package (and into git history); the
    loaders cast back to the model's dtype, so only the rounding of the stored weights changes.
    """
    stage_dir, target = Path(stage_dir), Path(target)
    if dtype not in SHIP_DTYPES:
        raise LlasoError(f"dtype must be one of {sorted(SHIP_DTYPES)}, not {dtype!r}")
    if not (stage_dir / PROJECTOR_FILE).is_file():
        raise LlasoError(f"{stage_dir}: no {PROJECTOR_FILE}; is it a finished stage output folder?")
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SHIPPED:
        src, dst = stage_dir / name, target / name
        if dst.is_dir():
            shutil.rmtree(dst)
        elif dst.exists():
            dst.unlink()
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.safetensors"))
            for weights in src.glob("*.safetensors"):
                _recast(weights, dst / weights.name, SHIP_DTYPES[dtype])
            written.append(dst)
        elif src.is_file():
            if name == TRAINING_FILE:
                info = json.loads(src.read_text(encoding="utf-8"))
                write_json_atomic(dst, {**info, **(extra_info or {})})
            elif name.endswith(".safetensors"):
                _recast(src, dst, SHIP_DTYPES[dtype])
            else:
                shutil.copy2(src, dst)
            written.append(dst)
    return written


def _recast(src: Path, dst: Path, dtype: torch.dtype) -> None:
    """Write `src`'s tensors to `dst` (atomically), floating-point ones as `dtype`."""
    state = load_file(str(src))
    with atomic_path(dst) as tmp:
        save_file({k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}, str(tmp))


def merge(stage_dir: Path, target: Path, base: str | None = None) -> Path:
    """A self-contained llaso checkpoint: the stage's base model with its projector loaded and
    LoRA merged into the LLM (what `Llaso.from_pretrained(target)` loads)."""
    from llaso.inference.api import Llaso
    from llaso.train.config import ModelSection
    from llaso.train.model_setup import build_model, load_stage_output

    info = json.loads((Path(stage_dir) / TRAINING_FILE).read_text(encoding="utf-8"))
    section = ModelSection.model_validate(info["config"]["model"] | ({"base": base} if base else {}))
    model, processor = build_model(section)
    load_stage_output(model, stage_dir, want_lora=False)
    Llaso(model, processor).save_pretrained(target)
    return Path(target)
