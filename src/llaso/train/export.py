"""What a stage leaves behind, and the two exports users want from it.

The stage output is a stage folder (`llaso.checkpoints.stage_folder`, what `init_from` and
every loader read) plus `ctc_head.safetensors` when a CTC head was trained (not needed for
inference). Exports: `ship` copies the few-MB inference files into a package folder (how llaso-tiny gets
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
from llaso.checkpoints.stage_folder import INFERENCE_FILES, PROJECTOR_FILE, TRAINING_FILE, write_stage_folder
from llaso.errors import LlasoError
from llaso.train.config import StageConfig
from llaso.train.model_setup import CTC_FILE


def write_stage_output(module: Any, processor: Any, cfg: StageConfig, out_dir: Path, info: dict[str, Any]) -> None:
    """The stage folder (`llaso.checkpoints.stage_folder`) with this stage's config and figures."""
    extra = {CTC_FILE: module.ctc_head.state_dict()} if module.ctc_head is not None else {}
    write_stage_folder(
        module.model, out_dir,
        {
            "name": cfg.name,
            "base": cfg.model.base,
            "encoder": cfg.model.encoder,
            "llm": cfg.model.llm,
            "trainable": cfg.trainable.model_dump(),
            "lora": cfg.lora.model_dump() if cfg.trainable.llm == "lora" else None,
            "seed": cfg.seed,
            "config": cfg.model_dump(mode="json"),
            **info,
        },
        full_llm=cfg.trainable.llm == "full", full_encoder=cfg.trainable.encoder, extra=extra,
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
    for name in INFERENCE_FILES:
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
    from llaso.checkpoints import save
    from llaso.train.config import ModelSection
    from llaso.train.model_setup import build_model, load_stage_output

    info = json.loads((Path(stage_dir) / TRAINING_FILE).read_text(encoding="utf-8"))
    section = ModelSection.model_validate(info["config"]["model"] | ({"base": base} if base else {}))
    model, processor = build_model(section)
    load_stage_output(model, stage_dir, want_lora=False)
    save(model, processor, target)
    return Path(target)
