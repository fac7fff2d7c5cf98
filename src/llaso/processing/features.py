"""Batching audio features: the one place windows of different lengths are padded together."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def pad_features(windows: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows [C, T_i] -> features [N, C, T_max] zero-padded on the right and a mask [N, T_max]
    (1 where a frame is real). Inference, training and the encoder cache all batch this way."""
    if not windows:
        raise ValueError("pad_features needs at least one window")
    longest = max(w.shape[-1] for w in windows)
    features = torch.zeros((len(windows), windows[0].shape[0], longest), dtype=torch.float32)
    mask = torch.zeros((len(windows), longest), dtype=torch.long)
    for i, window in enumerate(windows):
        features[i, :, : window.shape[-1]] = window
        mask[i, : window.shape[-1]] = 1
    return features, mask
