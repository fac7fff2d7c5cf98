"""Speaker embeddings on CPU with weights that ship on PyPI: Resemblyzer's voice encoder.

Why this encoder: `resemblyzer` (Apache-2.0) ships `pretrained.pt`, a GE2E speaker encoder
(3-layer LSTM over 40 mel bands, 256-d output) trained on thousands of real speakers, in
17 MB; no hub is needed. The package's own code imports librosa and webrtcvad (a C build),
so llaso installs it without dependencies and rebuilds the small network here, loading the
weights with `torch.load(weights_only=True)` (tensors only: no pickled code runs).

Whisper-encoder features (our own) would also work as embeddings, but they are trained to
ignore who speaks; a speaker-verification encoder is trained to tell voices apart.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from llaso.audio import SAMPLING_RATE
from llaso.errors import LlasoError

MEL_BANDS = 40
WINDOW = 400  # 25 ms
HOP = 160  # 10 ms
PARTIAL_FRAMES = 160  # 1.6 s: the length the encoder was trained on
EMBEDDING_DIM = 256
TARGET_DBFS = -30.0


class SpeakerEncoderError(LlasoError):
    """The speaker encoder's weights cannot be found or read."""


def resemblyzer_weights() -> Path:
    """`pretrained.pt` inside the installed `resemblyzer` package, found without importing it."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise SpeakerEncoderError("the speaker encoder is not installed: pip install --no-deps resemblyzer==0.1.4")
    path = Path(list(spec.submodule_search_locations)[0]) / "pretrained.pt"
    if not path.is_file():
        raise SpeakerEncoderError(f"{path} is missing: reinstall resemblyzer")
    return path


@lru_cache(maxsize=1)
def _mel_filters() -> np.ndarray:
    from transformers.audio_utils import mel_filter_bank

    # librosa's defaults, which the encoder was trained with: Slaney scale and area norm.
    return mel_filter_bank(num_frequency_bins=WINDOW // 2 + 1, num_mel_filters=MEL_BANDS, min_frequency=0.0,
                           max_frequency=SAMPLING_RATE / 2, sampling_rate=SAMPLING_RATE, norm="slaney",
                           mel_scale="slaney").astype(np.float32)


def mel_frames(samples: np.ndarray):
    """16 kHz samples -> [T, 40] mel power frames (torch), as the encoder expects."""
    import torch

    audio = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    if audio.numel() < WINDOW:
        audio = torch.nn.functional.pad(audio, (0, WINDOW - audio.numel()))
    spec = torch.stft(audio, n_fft=WINDOW, hop_length=HOP, win_length=WINDOW,
                      window=torch.hann_window(WINDOW), center=True, return_complex=True)
    power = spec.abs() ** 2  # [201, T]
    return (torch.from_numpy(_mel_filters()).T @ power).T  # [T, 40]


def normalize_volume(samples: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Raise quiet audio to `target_dbfs` (never lower it), as the encoder's training did."""
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    if power <= 0:
        return samples
    change = target_dbfs - 10 * np.log10(power)
    return samples * (10 ** (change / 20)) if change > 0 else samples


class SpeakerEncoder:
    """[T, 40] mel frames -> L2-normalised 256-d voice embeddings."""

    def __init__(self, weights: str | Path | None = None, device: str = "cpu") -> None:
        import torch
        from torch import nn

        path = Path(weights) if weights else resemblyzer_weights()
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a corrupt or foreign file
            raise SpeakerEncoderError(f"{path}: not a readable speaker-encoder checkpoint ({exc})") from None
        state = checkpoint.get("model_state", checkpoint) if isinstance(checkpoint, dict) else None
        if not isinstance(state, dict) or "linear.weight" not in state:
            raise SpeakerEncoderError(f"{path}: no voice-encoder weights inside")
        self.lstm = nn.LSTM(MEL_BANDS, EMBEDDING_DIM, num_layers=3, batch_first=True)
        self.linear = nn.Linear(EMBEDDING_DIM, EMBEDDING_DIM)
        self.lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
        self.linear.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("linear.")})
        self.lstm.eval().to(device)
        self.linear.eval().to(device)
        self.device = device

    def embed_frames(self, batch) -> np.ndarray:
        """[B, T, 40] mel frames -> [B, 256] unit vectors."""
        import torch

        with torch.inference_mode():
            _, (hidden, _) = self.lstm(batch.to(self.device))
            embeds = torch.relu(self.linear(hidden[-1]))
            embeds = embeds / embeds.norm(dim=1, keepdim=True).clamp_min(1e-8)
        return embeds.cpu().numpy()

    def embed_windows(self, samples: np.ndarray, windows: list[tuple[int, int]], batch_size: int = 64) -> np.ndarray:
        """One embedding per (start, end) sample range of `samples`: each range is cut into
        1.6 s partials (half overlapping) whose embeddings are averaged."""
        import torch

        partials: list = []
        owners: list[int] = []
        for index, (start, end) in enumerate(windows):
            mel = mel_frames(normalize_volume(samples[start:end]))
            count = mel.shape[0]
            if count <= PARTIAL_FRAMES:  # repeat a short window (zeros would read as silence)
                mel = mel.repeat(-(-PARTIAL_FRAMES // count), 1)[:PARTIAL_FRAMES]
                partials.append(mel)
                owners.append(index)
                continue
            step = PARTIAL_FRAMES // 2
            for first in range(0, count - PARTIAL_FRAMES + 1, step):
                partials.append(mel[first : first + PARTIAL_FRAMES])
                owners.append(index)
        if not partials:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        embeds = np.concatenate([self.embed_frames(torch.stack(partials[i : i + batch_size]))
                                 for i in range(0, len(partials), batch_size)])
        out = np.zeros((len(windows), EMBEDDING_DIM), np.float32)
        np.add.at(out, np.asarray(owners), embeds)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-8)
