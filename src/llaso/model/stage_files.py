"""The files of a `llaso train` stage output, which is also the layout of llaso-tiny's package
folder: one place for their names, and for loading the parts a stage trained in full, so the
trainer that writes them and every loader that reads them cannot drift apart.

- `projector.safetensors`: the projector (always);
- `lora/`: a peft adapter on the LLM (`llaso.model.adapter`);
- `language_model.safetensors`: the whole LLM, when the stage trained it in full;
- `audio_tower.safetensors`: the whole encoder, when the stage trained it;
- `training.json`: the config, figures, and the settings a loader needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llaso.errors import LlasoError

PROJECTOR_FILE = "projector.safetensors"
TRAINING_FILE = "training.json"
LLM_FILE = "language_model.safetensors"
ENCODER_FILE = "audio_tower.safetensors"


def load_full_parts(model: Any, folder: str | Path) -> list[str]:
    """Put the encoder and/or LLM a stage trained in full into `model` (before any adapter is
    attached); returns the files it loaded. A file may hold a subset of the part's tensors (a
    hand-made delta): those replace the base's, the rest stay; a tensor the part lacks is an error."""
    from safetensors.torch import load_file

    folder = Path(folder)
    loaded = []
    for file, part, what in ((ENCODER_FILE, "audio_tower", "encoder"), (LLM_FILE, "language_model", "LLM")):
        path = folder / file
        if not path.is_file():
            continue
        result = getattr(model, part).load_state_dict(load_file(str(path)), strict=False)
        if result.unexpected_keys:
            raise LlasoError(f"{path} does not fit this model's {what} (unexpected {result.unexpected_keys[:3]})")
        loaded.append(file)
    if LLM_FILE in loaded:
        model.language_model.tie_weights()  # a tied LM head is stored once, under the embeddings' name
    return loaded
