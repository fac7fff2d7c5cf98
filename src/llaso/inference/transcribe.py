"""Whisper's own ASR: the baseline LLaSO's ASR is compared against, and a cascade front end."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from llaso.audio import SAMPLING_RATE, load_audio, split_windows
from llaso.errors import LlasoError
from llaso.inference.subtitles import Segment

START_OF_TRANSCRIPT = 50257
NO_TIMESTAMPS_EN = 50362  # tiny.en; multilingual models use 50363 and a language token


@dataclass
class Transcript:
    source: str
    text: str | None
    error: str | None = None
    audio_seconds: float = 0.0
    seconds: float = 0.0
    segments: list[Segment] = field(default_factory=list)  # timed pieces of `text`


class WhisperTranscriber:
    """Greedy Whisper decoding over 30 s windows, batched across windows and files."""

    def __init__(self, model: Any, processor_fe: Any, tokenizer: Any, max_new_tokens: int = 224) -> None:
        self.model = model.eval()
        self.feature_extractor = processor_fe
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        config = model.generation_config
        self.eos = int(config.eos_token_id if config.eos_token_id is not None else 50256)
        prompt = [getattr(config, "decoder_start_token_id", None) or START_OF_TRANSCRIPT]
        no_ts = getattr(config, "no_timestamps_token_id", None) or NO_TIMESTAMPS_EN
        self.prompt = prompt + [int(no_ts)]
        suppress = list(getattr(config, "suppress_tokens", None) or [])
        self.suppress = torch.tensor(sorted(set(suppress)), dtype=torch.long)
        self.begin_suppress = torch.tensor(list(getattr(config, "begin_suppress_tokens", None) or [220, self.eos]))
        self.timestamp_begin = int(no_ts) + 1

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None, device: str | None = None) -> "WhisperTranscriber":
        from transformers import AutoTokenizer, WhisperFeatureExtractor, WhisperForConditionalGeneration

        from llaso.device import select_device
        from llaso.checkpoints.base_weights import ensure_whisper_tiny_en

        directory = Path(path) if path else ensure_whisper_tiny_en()
        if not (directory / "config.json").exists():
            raise LlasoError(f"{directory}: not a Whisper checkpoint directory (no config.json)")
        model = WhisperForConditionalGeneration.from_pretrained(directory, dtype=torch.float32)
        model = model.to(select_device(device))
        return cls(model, WhisperFeatureExtractor.from_pretrained(directory), AutoTokenizer.from_pretrained(directory))

    @torch.inference_mode()
    def decode_windows(self, windows: list[np.ndarray]) -> list[str]:
        """Greedy-decode padded 30 s windows in one batch."""
        from transformers import DynamicCache, EncoderDecoderCache

        device = self.model.device
        feats = self.feature_extractor(windows, sampling_rate=SAMPLING_RATE, return_tensors="pt")
        encoder_out = self.model.model.encoder(feats["input_features"].to(device))
        batch = len(windows)
        tokens = torch.tensor([self.prompt] * batch, device=device)
        cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        generated = [[] for _ in range(batch)]
        done = torch.zeros(batch, dtype=torch.bool, device=device)
        step_input = tokens
        for step in range(self.max_new_tokens):
            out = self.model(encoder_outputs=encoder_out, decoder_input_ids=step_input,
                             cache=cache, use_cache=True)
            logits = out.logits[:, -1, :].float()
            logits[:, self.timestamp_begin :] = -float("inf")
            if len(self.suppress):
                logits[:, self.suppress.to(device)] = -float("inf")
            if step == 0:
                logits[:, self.begin_suppress.to(device)] = -float("inf")
            token = logits.argmax(-1)
            for row in range(batch):
                if not done[row] and int(token[row]) != self.eos:
                    generated[row].append(int(token[row]))
            done |= token == self.eos
            if bool(done.all()):
                break
            step_input = token[:, None]
        return [self.tokenizer.decode(ids, skip_special_tokens=True).strip() for ids in generated]

    def transcribe(self, sources: list[Any], max_audio_seconds: float = 600.0, batch_size: int = 8) -> list[Transcript]:
        """One Transcript per source; a bad file is reported in its Transcript, not raised."""
        results: list[Transcript] = []
        pending: list[tuple[int, float, np.ndarray]] = []  # (result index, start seconds, window)
        for source in sources:
            name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<audio>"
            try:
                samples = load_audio(source, max_seconds=max_audio_seconds, name=name)
            except LlasoError as exc:
                results.append(Transcript(source=name, text=None, error=str(exc)))
                continue
            windows = split_windows(samples, max_windows=int(np.ceil(max_audio_seconds / 30.0)), name=name)
            results.append(Transcript(source=name, text="", audio_seconds=len(samples) / SAMPLING_RATE))
            starts = np.cumsum([0] + [len(w) for w in windows[:-1]]) / SAMPLING_RATE
            pending += [(len(results) - 1, float(t), w) for t, w in zip(starts, windows)]
        pieces: dict[int, list[str]] = {}
        for start in range(0, len(pending), batch_size):
            chunk = pending[start : start + batch_size]
            began = time.perf_counter()
            texts = self.decode_windows([w for _, _, w in chunk])
            share = (time.perf_counter() - began) / len(chunk)
            for (index, start, window), text in zip(chunk, texts):
                pieces.setdefault(index, []).append(text)
                results[index].seconds += share
                if text:
                    results[index].segments.append(Segment(start, start + len(window) / SAMPLING_RATE, text))
        for index, texts in pieces.items():
            results[index].text = " ".join(t for t in texts if t)
        return results
