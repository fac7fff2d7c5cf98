"""Whisper's encoder at a clip's real length (trimmed) or padded to 30 s (as Whisper trained).

transformers' `WhisperEncoder.forward` insists on 3,000 mel frames (30 s), so the encoder's
parts are run directly here: the two convolutions with GELU, the positional embeddings sliced
to the frame count, the layers, the final norm.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from llaso.model.encoders.base import (
    SAMPLING_RATE,
    AudioEncoder,
    EncoderFrames,
    check_extra_layers,
    layer_normalised,
)

HOP_LENGTH = 160  # 100 mel frames per second


def encoded_length(num_mel_frames: int) -> int:
    """Encoder frames for a mel length: the second convolution has stride 2."""
    return (num_mel_frames + 1) // 2


class WhisperFamily(AudioEncoder):
    def build(self) -> nn.Module:
        from transformers.models.whisper.modeling_whisper import WhisperEncoder

        return WhisperEncoder(self.config)

    @property
    def hidden_size(self) -> int:
        return int(self.config.d_model)

    @property
    def num_layers(self) -> int:
        return int(self.config.encoder_layers)

    @property
    def no_split_modules(self) -> list[str]:
        return ["WhisperEncoderLayer"]

    def feature_extractor(self, folder: Any = None) -> Any:
        from transformers import WhisperFeatureExtractor

        if folder is not None:
            return WhisperFeatureExtractor.from_pretrained(folder)
        return WhisperFeatureExtractor(feature_size=self.config.num_mel_bins)

    def featurize(self, feature_extractor: Any, window: np.ndarray, mode: str, stack_factor: int) -> EncoderFrames:
        if mode == "padded":
            feats = feature_extractor(window, sampling_rate=SAMPLING_RATE, return_tensors="np")
            mel = torch.from_numpy(feats["input_features"][0])
            return EncoderFrames(mel, mel.shape[-1] // 2)
        unit = HOP_LENGTH * 2 * stack_factor  # so mel frames stack evenly into tokens
        padded_len = max(unit, -(-len(window) // unit) * unit)
        window = np.pad(window, (0, padded_len - len(window)))
        feats = feature_extractor(window, sampling_rate=SAMPLING_RATE, padding="longest", return_tensors="np")
        mel = torch.from_numpy(feats["input_features"][0])
        return EncoderFrames(mel, encoded_length(mel.shape[-1]))

    def encode(self, module: nn.Module, features: torch.Tensor, lengths: Sequence[int],
               extra_layers: Sequence[int] = ()) -> list[torch.Tensor]:
        """Padding frames are masked out of attention, so a clip encodes the same alone or batched."""
        lengths = [int(n) for n in lengths]
        max_positions = module.embed_positions.num_embeddings
        padded = any(n < features.shape[-1] for n in lengths)
        if padded:
            mel_valid = torch.arange(features.shape[-1], device=features.device)[None, :]
            mel_valid = (mel_valid < torch.tensor(lengths, device=features.device)[:, None])[:, None, :]
            features = features * mel_valid.to(features.dtype)
        x = nn.functional.gelu(module.conv1(features))
        if padded:
            # GELU(bias) is not zero: clear padded frames so conv2 sees what a lone clip sees.
            x = x * mel_valid.to(x.dtype)
        x = nn.functional.gelu(module.conv2(x))
        x = x.permute(0, 2, 1)  # [N, T_enc, D]
        frames = x.shape[1]
        if frames > max_positions:
            raise ValueError(f"{frames} encoder frames exceed Whisper's {max_positions} positions (30 s)")
        x = x + module.embed_positions.weight[:frames].to(x.dtype)

        enc_lengths = [encoded_length(n) for n in lengths]
        attention_mask = None
        if any(n < frames for n in enc_lengths):
            valid = torch.arange(frames, device=x.device)[None, :] < torch.tensor(enc_lengths, device=x.device)[:, None]
            blocked = torch.zeros(valid.shape, dtype=x.dtype, device=x.device)
            blocked.masked_fill_(~valid, torch.finfo(x.dtype).min)
            attention_mask = blocked[:, None, None, :].expand(-1, 1, frames, -1)
        check_extra_layers(extra_layers, len(module.layers))
        hidden = [x]
        for layer in module.layers:
            x = layer(x, attention_mask)
            hidden.append(x)
        x = module.layer_norm(x)
        if extra_layers:
            x = torch.cat([x, *layer_normalised([hidden[i] for i in extra_layers], x.shape[-1])], dim=-1)
        return [x[i, :n] for i, n in enumerate(enc_lengths)]


# -- transcripts from the encoder frames the projector also reads --------------------------

def build_transcript_decoder(config: Any) -> nn.Module:
    from transformers.models.whisper.modeling_whisper import WhisperDecoder

    return WhisperDecoder(config)


def decoding_settings(generation_config: Any) -> dict[str, Any]:
    """What greedy transcription needs from a Whisper generation config (English-only models
    and multilingual ones prompted for English)."""
    start = int(getattr(generation_config, "decoder_start_token_id", None) or 50257)
    no_timestamps = getattr(generation_config, "no_timestamps_token_id", None)
    prompt = [start]
    lang = (getattr(generation_config, "lang_to_id", None) or {}).get("<|en|>")
    task = (getattr(generation_config, "task_to_id", None) or {}).get("transcribe")
    if lang is not None and task is not None:
        prompt += [int(lang), int(task)]
    if no_timestamps is not None:  # a config without timestamp tokens has none to suppress
        prompt.append(int(no_timestamps))
    return {
        "prompt": prompt,
        "eos": int(getattr(generation_config, "eos_token_id", None) or 50256),
        "timestamp_begin": int(no_timestamps) + 1 if no_timestamps is not None else 1 << 30,
        "suppress": [int(t) for t in (getattr(generation_config, "suppress_tokens", None) or [])],
        "begin_suppress": [int(t) for t in (getattr(generation_config, "begin_suppress_tokens", None) or [])],
    }


REPEAT_RUN = 3


def _cut_repetition(tokens: list[int], min_run: int = REPEAT_RUN) -> list[int]:
    """A decoder reading a clip trimmed to its length does not predict the end token: it
    starts the text again. Cut where the output begins to repeat its own start."""
    for at in range(min_run, len(tokens) - min_run + 1):
        if tokens[at : at + min_run] == tokens[:min_run]:
            return tokens[:at]
    return tokens


@torch.inference_mode()
def greedy_transcripts(decoder: nn.Module, frames: Sequence[torch.Tensor], settings: dict[str, Any],
                       tokens_per_second: float = 6.0) -> list[list[int]]:
    """Whisper token ids of each window's transcript ([T_i, D] frames each, 50 per second).

    Windows decode one at a time (the decoder cannot mask padded frames in cross-attention);
    the budget follows the window's length (speech runs at 2-4 tokens a second)."""
    from transformers import DynamicCache, EncoderDecoderCache

    weight = decoder.embed_tokens.weight
    vocab = weight.shape[0]
    suppress = torch.tensor([t for t in settings.get("suppress", []) if t < vocab], dtype=torch.long, device=weight.device)
    begin = torch.tensor([t for t in settings.get("begin_suppress", []) if t < vocab], dtype=torch.long,
                         device=weight.device)
    eos, first_timestamp = int(settings["eos"]), int(settings["timestamp_begin"])
    out: list[list[int]] = []
    for window in frames:
        states = window[None].to(weight.dtype)
        budget = int(8 + tokens_per_second * window.shape[0] / 50)
        cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        step = torch.tensor([settings["prompt"]], device=weight.device)
        generated: list[int] = []
        for index in range(budget):
            hidden = decoder(input_ids=step, encoder_hidden_states=states, cache=cache, use_cache=True).last_hidden_state
            logits = (hidden[:, -1] @ weight.T).float()
            logits[:, first_timestamp:] = -float("inf")
            if len(suppress):
                logits[:, suppress] = -float("inf")
            if index == 0 and len(begin):
                logits[:, begin] = -float("inf")
            token = int(logits.argmax(-1))
            if token == eos:
                break
            generated.append(token)
            if len(generated) >= 2 * REPEAT_RUN and generated[-REPEAT_RUN:] == generated[:REPEAT_RUN]:
                break  # the text starts over (see _cut_repetition): stop now rather than at the budget
            step = torch.tensor([[token]], device=weight.device)
        out.append(_cut_repetition(generated))
    return out
