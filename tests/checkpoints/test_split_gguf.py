"""A GGUF file shipped in parts: joined, then trusted only with the pinned hash and metadata."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from llaso.checkpoints.convert.gguf_llm import GGUFConversionError
from llaso.checkpoints.convert.split_gguf import convert_split_gguf, gguf_identity, join_parts


def _small_gguf(path: Path, name: str) -> Path:
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), "qwen2")
    writer.add_name(name)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _split(path: Path, folder: Path, pieces: int = 3) -> list[Path]:
    data = path.read_bytes()
    step = len(data) // pieces + 1
    parts = []
    for i in range(pieces):
        part = folder / f"pkg{i}" / "data" / f"part{i + 1:02d}.bin"
        part.parent.mkdir(parents=True)
        part.write_bytes(data[i * step : (i + 1) * step])
        parts.append(part)
    return parts


def test_join_gives_the_original_bytes_and_its_hash(tmp_path):
    whole = _small_gguf(tmp_path / "whole.gguf", "Tiny Test")
    joined = tmp_path / "joined.gguf"
    digest = join_parts(_split(whole, tmp_path), joined)
    assert joined.read_bytes() == whole.read_bytes() and digest == hashlib.sha256(whole.read_bytes()).hexdigest()
    assert gguf_identity(joined)["general.name"] == "Tiny Test"


def test_wrong_hash_or_wrong_model_is_refused_and_leaves_nothing(tmp_path):
    whole = _small_gguf(tmp_path / "whole.gguf", "Tiny Test")
    parts = _split(whole, tmp_path)
    right = hashlib.sha256(whole.read_bytes()).hexdigest()
    with pytest.raises(GGUFConversionError, match="pinned"):
        convert_split_gguf(parts, tmp_path / "a", sha256="0" * 64, identity={})
    with pytest.raises(GGUFConversionError, match="not the expected model"):
        convert_split_gguf(parts, tmp_path / "b", sha256=right, identity={"general.name": "Qwen2.5 Coder"})
    assert not list((tmp_path / "a").iterdir()) and not list((tmp_path / "b").iterdir())
