"""Build a LlasoForConditionalGeneration from tensors without paying for random initialisation."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from safetensors.torch import load_file

from llaso.errors import LlasoError
from llaso.model.configuration_llaso import LlasoConfig
from llaso.model.modeling_llaso import LlasoForConditionalGeneration

logger = logging.getLogger(__name__)


def read_safetensors(path: Path, prefix_from: str = "", prefix_to: str = "") -> dict[str, torch.Tensor]:
    """Tensors of one file, keys re-rooted from `prefix_from` to `prefix_to` (others dropped)."""
    state = load_file(str(path))
    return {prefix_to + k[len(prefix_from):]: v for k, v in state.items() if k.startswith(prefix_from)}


def folder_state(folder: Path, prefix_from: str, prefix_to: str) -> dict[str, torch.Tensor]:
    """All *.safetensors tensors of a folder, keys re-rooted (see read_safetensors)."""
    files = sorted(Path(folder).glob("*.safetensors"))
    if not files:
        raise LlasoError(f"{folder}: no *.safetensors weights (convert .bin checkpoints first)")
    state: dict[str, torch.Tensor] = {}
    for file in files:
        state.update(read_safetensors(file, prefix_from, prefix_to))
    return state


def assemble_model(config: LlasoConfig, state: dict[str, torch.Tensor], dtype: torch.dtype = torch.float32,
                   allow_missing: tuple[str, ...] = ()) -> LlasoForConditionalGeneration:
    """Instantiate on the meta device, then adopt `state`; tied LM heads are re-tied.

    Keys starting with a prefix in `allow_missing` may be absent: they keep a seeded random init.
    """
    from accelerate import init_empty_weights

    with init_empty_weights(include_buffers=False):
        model = LlasoForConditionalGeneration(config)
    result = model.load_state_dict(state, strict=False, assign=True)
    if result.unexpected_keys:
        raise ValueError(f"unexpected weights: {result.unexpected_keys[:5]}")
    if getattr(config.text_config, "tie_word_embeddings", False):
        model.language_model.tie_weights()
    missing = [name for name, p in model.named_parameters() if p.device.type == "meta"]
    still_missing = [name for name in missing if not name.startswith(allow_missing)]
    if still_missing:
        raise ValueError(f"weights missing for: {still_missing[:5]}")
    if missing:
        generator = torch.Generator().manual_seed(0)
        modules = dict(model.named_modules())
        for name in missing:
            module_name, _, attr = name.rpartition(".")
            old = getattr(modules[module_name], attr)
            if attr == "bias":
                value = torch.zeros(old.shape)
            else:
                value = torch.randn(old.shape, generator=generator) * (1.0 / old.shape[-1] ** 0.5)
            setattr(modules[module_name], attr, torch.nn.Parameter(value))
    return model.to(dtype).eval()
