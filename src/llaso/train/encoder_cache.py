"""Frozen-encoder outputs computed once per clip and kept on disk as safetensors.

With the encoder frozen, its output for a clip never changes across epochs or stages, and on
a CPU encoding is a large share of a step. The cache is keyed by the audio files' identities
(resolved path, size, modification time) and lives under a folder named by a fingerprint of
the encoder weights and encoding mode, so a different encoder never reads stale frames.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from llaso.atomic import atomic_path


def audio_identity(path: str | Path) -> str:
    """A clip's identity for caching: resolved path, size and mtime (changes when edited)."""
    p = Path(path).resolve()
    st = p.stat()
    return f"{p}|{st.st_size}|{st.st_mtime_ns}"


def conversation_audio_key(paths: Sequence[str | Path]) -> str:
    """One key for the ordered audio list of a conversation (its windows are cached together)."""
    joined = "\n".join(audio_identity(p) for p in paths)
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def encoder_fingerprint(encoder: torch.nn.Module, extra: dict | None = None) -> str:
    """A short hash of the encoder's weights and settings that change its output."""
    h = hashlib.sha1()
    h.update(json.dumps(extra or {}, sort_keys=True).encode())
    for name, tensor in sorted(encoder.state_dict().items()):
        h.update(name.encode())
        t = tensor.detach().float().flatten()
        # A strided sample plus the sum catches any real change without hashing 1.5 GB.
        step = max(1, t.numel() // 4096)
        h.update(t[::step].cpu().numpy().tobytes())
        h.update(str(float(t.sum())).encode())
    return h.hexdigest()[:16]


class EncoderCache:
    """Encoder frames per conversation audio list: [T_enc_i, D] tensors, one per window."""

    def __init__(self, root: str | Path, fingerprint: str, dtype: torch.dtype = torch.float16) -> None:
        self.folder = Path(root) / fingerprint
        self.folder.mkdir(parents=True, exist_ok=True)
        self.dtype = dtype

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.safetensors"

    def __contains__(self, key: str) -> bool:
        return self._path(key).is_file()

    def get(self, key: str) -> list[torch.Tensor]:
        tensors = load_file(str(self._path(key)))
        return [tensors[f"w{i}"].float() for i in range(len(tensors))]

    def put(self, key: str, frames: Sequence[torch.Tensor]) -> None:
        path = self._path(key)
        with atomic_path(path) as tmp:
            save_file({f"w{i}": f.detach().to(self.dtype).contiguous().cpu() for i, f in enumerate(frames)}, str(tmp))
