"""One way in and one way out for every checkpoint format.

`load(name_or_path, options)` resolves, in this order: a catalog name (`llaso-tiny`), a llaso
checkpoint folder (what `save` writes; imported LLaSO-Base too), a `llaso train` stage folder,
or an official LLaSO-Base directory (imported on the fly). Every option applies to every format
the same way, after the format's own loader: so `--fidelity`, a device or a dtype mean the
same thing whatever was loaded.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llaso.checkpoints.official import AudioTowerIgnoredWarning
from llaso.errors import LlasoError, ModelNotFoundError
from llaso.model.encoders.base import ENCODER_MODES


@dataclass(frozen=True)
class LoadOptions:
    """How to load a model, whatever its format.

    `encoder_mode` overrides how audio is encoded ("padded" is what `--fidelity` asks for);
    `audio_tower` is an encoder folder for a checkpoint that holds no encoder weights of its
    own (an official LLaSO-Base directory saved without its Whisper); `home` is where base
    weights are converted and cached (default `$LLASO_HOME`)."""

    device: str | None = None
    dtype: Any = None  # "float32" | "bfloat16" | "float16" | torch.dtype | None (by device)
    encoder_mode: str | None = None
    audio_tower: Path | None = None
    home: Path | None = None

    def __post_init__(self) -> None:
        if self.encoder_mode is not None and self.encoder_mode not in ENCODER_MODES:
            raise LlasoError(f"encoder_mode must be one of {ENCODER_MODES}, got {self.encoder_mode!r}")


def detect_format(name_or_path: str | os.PathLike, home: Path | None = None) -> tuple[str, Path | None]:
    """('catalog', None) | ('llaso', path) | ('stage', path) | ('official', path); raises if none."""
    from llaso.checkpoints.catalog import LOADABLE, detect_checkpoint_kind
    from llaso.checkpoints.llaso_folder import is_llaso_folder
    from llaso.checkpoints.stage_folder import is_stage_folder

    name = os.fspath(name_or_path)
    if name in LOADABLE:
        return "catalog", None
    path = Path(name).expanduser()
    if not path.exists() and home is not None and (home / "models" / name).exists():
        path = home / "models" / name
    if path.is_dir():
        if is_llaso_folder(path):
            return "llaso", path
        if is_stage_folder(path):
            return "stage", path
        if detect_checkpoint_kind(path) == "llava_llama":
            return "official", path
    raise ModelNotFoundError(
        f"no model {name!r}: pass one of [{', '.join(LOADABLE)}], a llaso checkpoint folder, a stage folder "
        "written by `llaso train`, or an official LLaSO-Base directory (see `llaso models`)"
    )


def load(name_or_path: str | os.PathLike = "llaso-tiny", options: LoadOptions | None = None) -> tuple[Any, Any]:
    """(LlasoForConditionalGeneration, LlasoProcessor), placed and cast as `options` say."""
    from llaso.checkpoints.base_weights import llaso_home
    from llaso.device import select_device, select_dtype

    options = options or LoadOptions()
    home = Path(options.home) if options.home is not None else llaso_home()
    kind, path = detect_format(name_or_path, home)
    if kind == "official":
        from llaso.checkpoints.official import load_official_as_llaso

        model, processor = load_official_as_llaso(path, audio_tower_path=options.audio_tower)
    else:
        if options.audio_tower is not None:
            warnings.warn(
                f"{name_or_path} holds its own encoder weights; audio_tower={options.audio_tower} is ignored "
                "(it only fills in an official checkpoint saved without its encoder)",
                AudioTowerIgnoredWarning,
                stacklevel=2,
            )
        if kind == "catalog":
            from llaso.checkpoints.catalog import shipped_weights_dir
            from llaso.checkpoints.stage_folder import load_stage_folder

            name = os.fspath(name_or_path)
            model, processor = load_stage_folder(shipped_weights_dir(name), home=home, name=name)
        elif kind == "stage":
            from llaso.checkpoints.stage_folder import load_stage_folder

            model, processor = load_stage_folder(path, home=home)
        else:
            from llaso.checkpoints.llaso_folder import load_llaso_folder

            model, processor = load_llaso_folder(path)
    if options.encoder_mode is not None:
        set_encoder_mode(model, processor, options.encoder_mode)
    device = select_device(options.device)
    model = model.to(device=device, dtype=select_dtype(options.dtype, device))
    return model.eval(), processor


def set_encoder_mode(model: Any, processor: Any, mode: str) -> None:
    """Encode audio trimmed to each clip or padded to 30 s windows, in the model and processor alike."""
    model.config.encoder_mode = mode
    processor.settings.encoder_mode = mode


def save(model: Any, processor: Any, path: str | os.PathLike) -> Path:
    """Write a llaso checkpoint folder (loadable by `load`), whatever the model was loaded from."""
    from llaso.checkpoints.llaso_folder import save_llaso_folder

    save_llaso_folder(model, processor, Path(path))
    return Path(path)
