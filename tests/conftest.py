"""Shared fixtures: the real llaso-tiny, loaded once per session, and committed audio clips."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def speech_clip() -> Path:
    """espeak-ng saying the sentence in hello_espeak.txt (16 kHz mono WAV)."""
    return FIXTURES / "audio" / "hello_espeak.wav"


@pytest.fixture(scope="session")
def speech_text() -> str:
    return (FIXTURES / "audio" / "hello_espeak.txt").read_text().strip()


@pytest.fixture(scope="session")
def tiny():
    """The real embedded default model (converted base weights are cached under LLASO_HOME)."""
    from llaso import Llaso

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Llaso.from_pretrained("llaso-tiny", device="cpu")


@pytest.fixture(scope="session")
def base_pair():
    """Whisper tiny.en + SmolLM2 as shipped by their packages, projector untrained, no LoRA:
    decoding mechanics are tested on the untouched base LLM, whatever llaso-tiny learnt."""
    from llaso import Llaso
    from llaso.model.base_weights import ensure_smollm2_135m_instruct, ensure_whisper_tiny_en
    from llaso.model.compose import compose_from_base

    return Llaso(*compose_from_base(ensure_whisper_tiny_en(), ensure_smollm2_135m_instruct()))
