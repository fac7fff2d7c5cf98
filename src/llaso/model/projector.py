"""Projectors from encoder frames to LLM embeddings, chosen by name."""

from __future__ import annotations

import re

import torch
from torch import nn

_MLP_PATTERN = re.compile(r"^mlp(\d+)x_gelu$")


def build_projector_mlp(projector_type: str, in_dim: int, out_dim: int) -> nn.Sequential:
    """`linear` or `mlp{N}x_gelu` (N linear layers with GELU between), as LLaVA names them."""
    if projector_type == "linear":
        return nn.Sequential(nn.Linear(in_dim, out_dim))
    match = _MLP_PATTERN.match(projector_type)
    if not match:
        raise ValueError(f"unknown projector_type {projector_type!r}; use 'linear' or 'mlp{{N}}x_gelu'")
    depth = int(match.group(1))
    if depth < 1:
        raise ValueError(f"projector depth must be >= 1, got {projector_type!r}")
    layers: list[nn.Module] = [nn.Linear(in_dim, out_dim)]
    for _ in range(depth - 1):
        layers += [nn.GELU(), nn.Linear(out_dim, out_dim)]
    return nn.Sequential(*layers)


def stacked_length(num_frames: int, stack_factor: int) -> int:
    """How many LLM tokens `num_frames` encoder frames become."""
    return -(-num_frames // stack_factor)


class LlasoProjector(nn.Module):
    """Stack k consecutive encoder frames, then map them into the LLM's embedding space."""

    def __init__(self, projector_type: str, encoder_dim: int, llm_dim: int, stack_factor: int) -> None:
        super().__init__()
        self.stack_factor = stack_factor
        self.mlp = build_projector_mlp(projector_type, encoder_dim * stack_factor, llm_dim)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """frames [T, D] or [B, T, D] -> [ceil(T/k), D_llm] or [B, ceil(T/k), D_llm]."""
        squeeze = frames.dim() == 2
        if squeeze:
            frames = frames.unsqueeze(0)
        batch, length, width = frames.shape
        k = self.stack_factor
        remainder = (-length) % k
        if remainder:
            frames = torch.nn.functional.pad(frames, (0, 0, 0, remainder))
        stacked = frames.reshape(batch, (length + remainder) // k, width * k)
        out = self.mlp(stacked)
        return out.squeeze(0) if squeeze else out
