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
def base_home() -> Path:
    """The llaso home whose `base/` holds converted Whisper tiny.en and SmolLM2-135M.

    Conversion happens at most once per cache (the GGUF model takes about 20 s), so this is the
    normal cache, `$LLASO_HOME` (default `~/.cache/llaso`); tests of the conversion itself use
    their own temporary home."""
    from llaso.checkpoints.base_weights import ensure_smollm2_135m_instruct, ensure_whisper_tiny_en, llaso_home

    home = llaso_home()
    ensure_whisper_tiny_en(home)
    ensure_smollm2_135m_instruct(home)
    return home


@pytest.fixture(scope="session")
def whisper_tiny_dir(base_home: Path) -> Path:
    """Transformers directory of Whisper tiny.en (float32)."""
    from llaso.checkpoints.base_weights import ensure_whisper_tiny_en

    return ensure_whisper_tiny_en(base_home)


@pytest.fixture(scope="session")
def smollm2_dir(base_home: Path) -> Path:
    """Transformers directory of SmolLM2-135M-Instruct (float32, ChatML template)."""
    from llaso.checkpoints.base_weights import ensure_smollm2_135m_instruct

    return ensure_smollm2_135m_instruct(base_home)


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
    from llaso.checkpoints.base_weights import ensure_smollm2_135m_instruct, ensure_whisper_tiny_en
    from llaso.checkpoints.compose import compose_from_base

    return Llaso(*compose_from_base(ensure_whisper_tiny_en(), ensure_smollm2_135m_instruct()))


@pytest.fixture(scope="session")
def speak(tmp_path_factory):
    """speak(text) -> a WAV of flite's slt voice saying it (a voice llaso-mini's training split
    does not use); the test is skipped where flite is not installed."""
    import soundfile as sf

    from llaso.data.tts import get_backend
    from llaso.data.tts.voices import voice_catalogue
    from llaso.errors import LlasoError

    folder = tmp_path_factory.mktemp("spoken")

    def say(text: str) -> Path:
        try:
            flite = get_backend("flite")
        except LlasoError:
            pytest.skip("flite is not installed")
        voice = next(v for v in voice_catalogue() if v.id == "flite:slt")
        speech = flite.synthesize(text, voice)
        path = folder / f"{len(list(folder.iterdir())):03d}.wav"
        sf.write(path, speech.samples, speech.sampling_rate)
        return path

    return say
