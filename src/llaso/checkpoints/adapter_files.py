"""A peft LoRA adapter folder (`lora/` beside a model's weights): find, attach, write."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import Any

ADAPTER_DIR = "lora"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


def adapter_folder(folder: str | os.PathLike) -> Path | None:
    """`folder/lora` when it holds a peft adapter."""
    path = Path(folder) / ADAPTER_DIR
    return path if (path / ADAPTER_CONFIG).is_file() else None


def attach_adapter(language_model: Any, folder: str | os.PathLike, *, keep_apart: bool,
                   trainable: bool = False) -> Any:
    """The LLM with the adapter in `folder`: wrapped (`keep_apart`) or merged into its weights."""
    from peft import PeftModel

    with warnings.catch_warnings():  # peft calls a transformers API deprecated for v6
        warnings.simplefilter("ignore", FutureWarning)
        wrapped = PeftModel.from_pretrained(language_model, str(folder), is_trainable=trainable)
    return wrapped if keep_apart else wrapped.merge_and_unload()


def save_adapter(language_model: Any, folder: Path) -> None:
    """A peft adapter folder (safetensors), written into a temp folder then renamed."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    language_model.peft_config["default"].save_pretrained(str(tmp))
    state = get_peft_model_state_dict(language_model)
    save_file({k: v.detach().contiguous().cpu().float() for k, v in state.items()}, str(tmp / ADAPTER_WEIGHTS))
    os.chmod(tmp / ADAPTER_WEIGHTS, 0o644)
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
