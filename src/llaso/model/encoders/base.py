"""What every audio encoder family provides (see the package docstring)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

SAMPLING_RATE = 16_000
WINDOW_SECONDS = 30.0
ENCODER_MODES = ("trimmed", "padded")


@dataclass(frozen=True)
class EncoderFrames:
    """One window's input features and how many encoder frames they become."""

    features: torch.Tensor  # [C, T]: C mel bins (Whisper) or 1 waveform channel (wav2vec2)
    num_frames: int


class AudioEncoder(ABC):
    """One encoder family, bound to one encoder config."""

    def __init__(self, config: Any) -> None:
        self.config = config

    # -- the module -----------------------------------------------------------------------
    @abstractmethod
    def build(self) -> nn.Module:
        """A randomly initialised encoder module for this config (weights are loaded after)."""

    @property
    @abstractmethod
    def hidden_size(self) -> int:
        """Width of one encoder frame."""

    @property
    @abstractmethod
    def num_layers(self) -> int: ...

    @property
    def no_split_modules(self) -> list[str]:
        return []

    @abstractmethod
    def encode(self, module: nn.Module, features: torch.Tensor, lengths: Sequence[int],
               extra_layers: Sequence[int] = ()) -> list[torch.Tensor]:
        """features [N, C, T] zero-padded, `lengths` real feature frames per row -> one
        [T_enc_i, D * (1 + len(extra_layers))] tensor per row. `extra_layers` appends earlier
        hidden states (0 = the encoder's input embedding, i = layer i), layer-normalised
        without weights, after the last layer's output."""

    # -- features -------------------------------------------------------------------------
    @abstractmethod
    def feature_extractor(self, folder: Any = None) -> Any:
        """The transformers feature extractor: saved in `folder`, or a default for the config."""

    @abstractmethod
    def featurize(self, feature_extractor: Any, window: np.ndarray, mode: str, stack_factor: int) -> EncoderFrames:
        """16 kHz samples of one window (at most `WINDOW_SECONDS`) -> features and frame count.

        "trimmed" encodes the clip at its real length (padded up to a whole number of stacked
        tokens); "padded" pads every window to `WINDOW_SECONDS`, as the encoder was trained."""

    def frames_per_second(self) -> float:
        """Encoder frames per second of audio (Whisper: 50)."""
        return self.featurize(self.feature_extractor(), np.zeros(SAMPLING_RATE, np.float32), "trimmed", 1).num_frames


def layer_normalised(states: Sequence[torch.Tensor], width: int) -> list[torch.Tensor]:
    """Hidden states normalised without weights, so layers of different scales sit side by side."""
    return [nn.functional.layer_norm(h, (width,)) for h in states]


def check_extra_layers(extra_layers: Sequence[int], num_layers: int) -> None:
    if any(not 0 <= i <= num_layers for i in extra_layers):
        raise ValueError(f"extra_layers {list(extra_layers)} must lie in 0..{num_layers}")
