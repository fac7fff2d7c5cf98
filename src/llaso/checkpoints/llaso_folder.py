"""A llaso checkpoint folder: what `save` writes and `from_pretrained(path)` reads.

config.json (`model_type: llaso`) + safetensors weights + the processor's files (tokenizer,
feature extractor, chat template, processor_config.json), and `lora/` when the model keeps an
LLM adapter apart from the LLM's weights (then the weights hold the base LLM without it).
An imported official LLaSO-Base checkpoint is this format too, with `llaso_import.json`.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch

from llaso.checkpoints.adapter_files import ADAPTER_DIR, adapter_folder, attach_adapter, save_adapter
from llaso.model.adapter import has_adapter

IMPORT_RECORD = "llaso_import.json"


class OutdatedImportWarning(UserWarning):
    """A checkpoint imported by an older llaso renders prompts unlike the official code."""


def is_llaso_folder(folder: Path) -> bool:
    config = Path(folder) / "config.json"
    if not config.is_file():
        return False
    try:
        return json.loads(config.read_text()).get("model_type") == "llaso"
    except (OSError, ValueError):
        return False


def load_llaso_folder(folder: Path) -> tuple[Any, Any]:
    from llaso.model.modeling_llaso import LlasoForConditionalGeneration
    from llaso.processing import LlasoProcessor

    folder = Path(folder)
    _check_import_record(folder)
    model = LlasoForConditionalGeneration.from_pretrained(folder, dtype=torch.float32)
    processor = LlasoProcessor.from_pretrained(folder)
    adapter = adapter_folder(folder)
    if adapter is not None:
        model.language_model = attach_adapter(model.language_model, adapter,
                                              keep_apart=model.config.base_llm_for_text_only)
    return model.eval(), processor


def _check_import_record(folder: Path) -> None:
    """Say when an imported LLaSO-Base checkpoint carries the pre-fix system prompt."""
    from llaso.checkpoints.official import OFFICIAL_SYSTEM_PROMPT

    record = folder / IMPORT_RECORD
    if not record.is_file():
        return
    try:
        prompt = json.loads(record.read_text()).get("system_prompt")
    except (OSError, ValueError):
        return
    if prompt is not None and prompt != OFFICIAL_SYSTEM_PROMPT:
        warnings.warn(
            f"{folder} was imported with a system prompt that differs from the official "
            "llama32_audio_v1_mmtag template, so its prompts differ from LLaSO-Base's own; re-import it with "
            f"`llaso convert llaso-base OFFICIAL_DIR NEW_DIR` (its source: {json.loads(record.read_text()).get('source')})",
            OutdatedImportWarning,
            stacklevel=3,
        )


def save_llaso_folder(model: Any, processor: Any, folder: Path) -> None:
    """One self-describing folder: config, safetensors, tokenizer, features, template (and
    `lora/` when the model keeps its LLM adapter apart from the LLM's weights)."""
    folder = Path(folder)
    lm = model.language_model
    if not has_adapter(lm):
        model.save_pretrained(folder, safe_serialization=True)
    else:  # base weights without the adapter's layers, then the adapter beside them
        folder.mkdir(parents=True, exist_ok=True)
        save_adapter(lm, folder / ADAPTER_DIR)
        first = next(lm.parameters())
        model.language_model = lm.unload()
        try:
            model.save_pretrained(folder, safe_serialization=True)
        finally:
            restored = attach_adapter(model.language_model, folder / ADAPTER_DIR, keep_apart=True)
            model.language_model = restored.to(device=first.device, dtype=first.dtype)
    processor.save_pretrained(folder)
