"""Shared fixtures for model tests: the embedded default's converted base weights.

Conversion happens at most once per cache (the GGUF model takes about 20 s), so these
fixtures use the normal cache, `$LLASO_HOME` (default `~/.cache/llaso`), not a temporary
directory. Tests of the conversion itself use their own temporary home instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from llaso.model.base_weights import ensure_smollm2_135m_instruct, ensure_whisper_tiny_en, llaso_home


@pytest.fixture(scope="session")
def base_home() -> Path:
    """The llaso home whose `base/` holds converted Whisper tiny.en and SmolLM2-135M."""
    home = llaso_home()
    ensure_whisper_tiny_en(home)
    ensure_smollm2_135m_instruct(home)
    return home


@pytest.fixture(scope="session")
def whisper_tiny_dir(base_home: Path) -> Path:
    """Transformers directory of Whisper tiny.en (float32)."""
    return ensure_whisper_tiny_en(base_home)


@pytest.fixture(scope="session")
def smollm2_dir(base_home: Path) -> Path:
    """Transformers directory of SmolLM2-135M-Instruct (float32, ChatML template)."""
    return ensure_smollm2_135m_instruct(base_home)
