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


def stacked_length(num_frames: int, stack_factor: int, summary_token: bool = False) -> int:
    """How many LLM tokens `num_frames` encoder frames become."""
    return -(-num_frames // stack_factor) + int(summary_token)


def pooled_statistics(frames: torch.Tensor) -> torch.Tensor:
    """[B, T, D] -> [B, 2D]: mean and standard deviation over time, a clip's voice in one vector."""
    std = frames.float().var(dim=1, unbiased=False).add(1e-6).sqrt().to(frames.dtype)
    return torch.cat([frames.mean(dim=1), std], dim=-1)


def widen_summary_input(weight: torch.Tensor, encoder_dim: int, extra_layers: int) -> torch.Tensor:
    """A summary MLP's first weight [out, 2D] for frames of the last layer only, widened to read
    `extra_layers` more layers ([out, 2D(1 + n)]): the old columns where the last layer's mean
    and std now sit, zeros for the new layers, so the widened token starts out unchanged."""
    if weight.shape[1] != 2 * encoder_dim:
        raise ValueError(f"expected a [out, {2 * encoder_dim}] summary weight, got {list(weight.shape)}")
    frame_dim = encoder_dim * (1 + extra_layers)
    wide = weight.new_zeros(weight.shape[0], 2 * frame_dim)
    wide[:, :encoder_dim] = weight[:, :encoder_dim]  # means: the last layer's come first
    wide[:, frame_dim : frame_dim + encoder_dim] = weight[:, encoder_dim:]  # then the stds
    return wide


class LlasoProjector(nn.Module):
    """Stack k consecutive encoder frames, then map them into the LLM's embedding space.

    With `summary_token`, one more token follows the stacked ones: the clip's pooled frame
    statistics through their own MLP. Voice-level facts (speaker gender, accent, instrument)
    are spread thinly over every stacked token; pooled, they are linearly readable, and one
    token hands them to the LLM directly instead of leaving it to learn the pooling.
    With `extra_layers` > 0, each frame also carries that many earlier encoder layers after
    its first `encoder_dim` features (the last layer's output): the stack reads the last layer
    only, the summary pools them all.
    """

    def __init__(self, projector_type: str, encoder_dim: int, llm_dim: int, stack_factor: int,
                 summary_token: bool = False, extra_layers: int = 0) -> None:
        super().__init__()
        if extra_layers and not summary_token:
            raise ValueError("extra_layers are for the summary token: set summary_token")
        self.stack_factor = stack_factor
        self.encoder_dim = encoder_dim
        self.frame_dim = encoder_dim * (1 + extra_layers)
        self.mlp = build_projector_mlp(projector_type, encoder_dim * stack_factor, llm_dim)
        self.summary = build_projector_mlp(projector_type, 2 * self.frame_dim, llm_dim) if summary_token else None

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """frames [T, D] or [B, T, D] (unpadded) -> [n, D_llm] or [B, n, D_llm],
        n = ceil(T/k) (+1 with the summary token)."""
        squeeze = frames.dim() == 2
        if squeeze:
            frames = frames.unsqueeze(0)
        batch, length, width = frames.shape
        if width != self.frame_dim:
            raise ValueError(f"the projector takes {self.frame_dim}-wide frames, got {width}")
        last_layer = frames[..., : self.encoder_dim]
        width = self.encoder_dim
        k = self.stack_factor
        remainder = (-length) % k
        stacked = last_layer
        if remainder:
            stacked = torch.nn.functional.pad(last_layer, (0, 0, 0, remainder))
        stacked = stacked.reshape(batch, (length + remainder) // k, width * k)
        out = self.mlp(stacked)
        if self.summary is not None:
            out = torch.cat([out, self.summary(pooled_statistics(frames))[:, None, :]], dim=1)
        return out.squeeze(0) if squeeze else out
