"""Where and in what precision to run: cuda > mps > cpu unless told."""

from __future__ import annotations

import torch

from llaso.errors import LlasoError

DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16,
          "fp16": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


def select_device(requested: str | None = None) -> torch.device:
    if requested and requested != "auto":
        device = torch.device(requested)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise LlasoError(f"device {requested!r} requested but CUDA is not available")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise LlasoError(f"device {requested!r} requested but MPS is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def select_dtype(requested: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """float32 on CPU (fast and exact there); bfloat16 on CUDA; float16 on MPS."""
    if isinstance(requested, torch.dtype):
        return requested
    if requested and requested != "auto":
        if requested not in DTYPES:
            raise LlasoError(f"unknown dtype {requested!r}; choose one of {sorted(set(DTYPES))}")
        return DTYPES[requested]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.float32
