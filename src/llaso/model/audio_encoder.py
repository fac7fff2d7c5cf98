"""Whisper encoding at a clip's real length (trimmed) or padded to 30 s (as Whisper trained)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from transformers.models.whisper.modeling_whisper import WhisperEncoder


def encoded_length(num_mel_frames: int) -> int:
    """Encoder frames for a mel length: the second convolution has stride 2."""
    return (num_mel_frames + 1) // 2


def encode_whisper(
    encoder: WhisperEncoder,
    input_features: torch.Tensor,
    feature_lengths: torch.Tensor | list[int],
    extra_layers: Sequence[int] = (),
) -> list[torch.Tensor]:
    """Run the encoder's parts directly so inputs shorter than 30 s need no padding.

    input_features [N, n_mels, T] (each row zero-padded to the batch's longest);
    feature_lengths: real mel frames per row. Returns one [T_enc_i, D] tensor per row.
    Padding frames are masked out of attention, so a clip encodes the same alone or batched.
    transformers' own WhisperEncoder.forward insists on 3,000 frames, hence this function.

    `extra_layers` appends earlier hidden states, layer-normalised without weights, to each
    frame ([T, D * (1 + len(extra_layers))]): 0 is the convolutions' output, i the output of
    layer i. Speaker and timbre cues fade in the last layers of an encoder trained for ASR.
    """
    lengths = [int(n) for n in (feature_lengths.tolist() if torch.is_tensor(feature_lengths) else feature_lengths)]
    max_positions = encoder.embed_positions.num_embeddings
    padded = any(n < input_features.shape[-1] for n in lengths)
    if padded:
        mel_valid = torch.arange(input_features.shape[-1], device=input_features.device)[None, :]
        mel_valid = (mel_valid < torch.tensor(lengths, device=input_features.device)[:, None])[:, None, :]
        input_features = input_features * mel_valid.to(input_features.dtype)
    x = nn.functional.gelu(encoder.conv1(input_features))
    if padded:
        # GELU(bias) is not zero: clear padded frames so conv2 sees what a lone clip sees.
        x = x * mel_valid.to(x.dtype)
    x = nn.functional.gelu(encoder.conv2(x))
    x = x.permute(0, 2, 1)  # [N, T_enc, D]
    frames = x.shape[1]
    if frames > max_positions:
        raise ValueError(f"{frames} encoder frames exceed Whisper's {max_positions} positions (30 s)")
    x = x + encoder.embed_positions.weight[:frames].to(x.dtype)

    enc_lengths = [encoded_length(n) for n in lengths]
    attention_mask = None
    if any(n < frames for n in enc_lengths):
        valid = torch.arange(frames, device=x.device)[None, :] < torch.tensor(enc_lengths, device=x.device)[:, None]
        blocked = torch.zeros(valid.shape, dtype=x.dtype, device=x.device)
        blocked.masked_fill_(~valid, torch.finfo(x.dtype).min)
        attention_mask = blocked[:, None, None, :].expand(-1, 1, frames, -1)
    num_layers = len(encoder.layers)
    if any(not 0 <= i <= num_layers for i in extra_layers):
        raise ValueError(f"extra_layers {list(extra_layers)} must lie in 0..{num_layers}")
    hidden = [x]
    for layer in encoder.layers:
        x = layer(x, attention_mask)
        hidden.append(x)
    x = encoder.layer_norm(x)
    if extra_layers:
        width = (x.shape[-1],)
        x = torch.cat([x, *(nn.functional.layer_norm(hidden[i], width) for i in extra_layers)], dim=-1)
    return [x[i, :n] for i, n in enumerate(enc_lengths)]
