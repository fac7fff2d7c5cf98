"""wav2vec 2.0 and HuBERT: encoders that read the raw waveform (one channel of features).

Their convolutional front end turns 16 kHz samples into 50 frames a second; the frame count
of a clip follows from the config's kernel and stride lists, so the processor can expand the
audio slots before the model runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from llaso.model.encoders.base import (
    SAMPLING_RATE,
    WINDOW_SECONDS,
    AudioEncoder,
    EncoderFrames,
    check_extra_layers,
    layer_normalised,
)


class Wav2Vec2Family(AudioEncoder):
    def build(self) -> nn.Module:
        from transformers import AutoModel

        return AutoModel.from_config(self.config)

    @property
    def hidden_size(self) -> int:
        return int(self.config.hidden_size)

    @property
    def num_layers(self) -> int:
        return int(self.config.num_hidden_layers)

    def feature_extractor(self, folder: Any = None) -> Any:
        from transformers import Wav2Vec2FeatureExtractor

        if folder is not None:
            return Wav2Vec2FeatureExtractor.from_pretrained(folder)
        return Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SAMPLING_RATE, do_normalize=True,
                                        return_attention_mask=True)

    def output_length(self, num_samples: int) -> int:
        """Frames the convolutional front end makes of `num_samples` (no padding in the convs)."""
        length = int(num_samples)
        for kernel, stride in zip(self.config.conv_kernel, self.config.conv_stride):
            length = (length - kernel) // stride + 1
        return max(0, length)

    def _samples_per_frame(self) -> int:
        total = 1
        for stride in self.config.conv_stride:
            total *= int(stride)
        return total

    def featurize(self, feature_extractor: Any, window: np.ndarray, mode: str, stack_factor: int) -> EncoderFrames:
        if mode == "padded":
            target = int(WINDOW_SECONDS * SAMPLING_RATE)
        else:  # whole stacked tokens, and enough samples for the front end's receptive field
            unit = self._samples_per_frame() * stack_factor
            target = max(unit, -(-len(window) // unit) * unit) + self._receptive_field_extra()
        window = np.pad(window, (0, max(0, target - len(window))))
        values = feature_extractor(window, sampling_rate=SAMPLING_RATE, return_tensors="np")["input_values"][0]
        features = torch.from_numpy(np.asarray(values, dtype=np.float32))[None, :]
        return EncoderFrames(features, self.output_length(features.shape[-1]))

    def _receptive_field_extra(self) -> int:
        """Samples beyond a whole number of strides that the last frame's kernels read."""
        extra, jump = 0, 1
        for kernel, stride in zip(self.config.conv_kernel, self.config.conv_stride):
            extra += (kernel - stride) * jump
            jump *= stride
        return extra

    def encode(self, module: nn.Module, features: torch.Tensor, lengths: Sequence[int],
               extra_layers: Sequence[int] = ()) -> list[torch.Tensor]:
        check_extra_layers(extra_layers, self.num_layers)
        values = features[:, 0, :]
        lengths_t = torch.tensor([int(n) for n in lengths], device=values.device)
        mask = (torch.arange(values.shape[-1], device=values.device)[None, :] < lengths_t[:, None]).long()
        out = module(values, attention_mask=mask, output_hidden_states=bool(extra_layers))
        x = out.last_hidden_state
        if extra_layers:
            x = torch.cat([x, *layer_normalised([out.hidden_states[i] for i in extra_layers], x.shape[-1])], dim=-1)
        return [x[i, : self.output_length(n)] for i, n in enumerate(lengths)]
