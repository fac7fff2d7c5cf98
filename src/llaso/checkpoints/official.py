"""Import the official LLaSO-Base checkpoint (EIT-NLP/LLaSO, a LLaVA fork) into llaso's layout.

What the official code does (read from the EIT-NLP/LLaSO sources: `llaso/train/train.py`,
`llaso/evaluation/model_eval.py`, `llaso/model/llava_arch.py`,
`llaso/model/audio_aligner/builder.py`, the audio tower classes, and
`llaso/scripts/{align,finetune}.sh`):

Checkpoint layout
- `config.json`: `model_type` "llava_llama" (class LlavaLlamaForCausalLM) with the
  Llama-3.2-3B-Instruct fields plus `mm_audio_tower` (path of whisper-large-v3),
  `audio_projector_type` ("mlp2x_gelu"), `mm_audio_hidden_size` (1280),
  `mm_audio_select_layer` (-1: the last hidden state), `mm_use_audio_start_end` (true).
- Weights: the LLM under `model.*` and `lm_head.*` (Llama-3.2 ties `lm_head` to
  `model.embed_tokens`, so `lm_head.weight` may be absent); the projector
  (`LlavaMetaModel.mm_audio_aligner`, a `nn.Sequential` of Linear(mm_audio_hidden_size,
  hidden_size), GELU, Linear(hidden_size, hidden_size)) under
  `model.mm_audio_aligner.projector.{0,2}.{weight,bias}`. The audio tower is
  `LlavaMetaModel.audio_tower`, a wrapper whose `.audio_tower` attribute holds the
  transformers `WhisperEncoder` of whisper-large-v3 (`WhisperModel.from_pretrained(..).encoder`),
  so saved tower weights sit under `model.audio_tower.audio_tower.*`. (One variant of the
  wrapper subclasses `WhisperModel`, which adds randomly initialised
  `model.audio_tower.{encoder,decoder}.*` entries: those are ignored here.) The official
  inference script loads the tower from `--audio_tower` (a local whisper-large-v3
  directory), so here it may come from `audio_tower_path` or a local `mm_audio_tower` path.

Audio features
- WhisperProcessor of whisper-large-v3: 128 log-mel bins, each 30 s window padded to
  3,000 frames; the encoder's last hidden state gives 1,500 frames per window; no frame
  stacking; the projector maps every frame to one LLM embedding (1,500 per window).
- Audio longer than 30 s is cut into windows (of 480,001 samples in the official code, at
  most 20 per file); the windows of one audio are concatenated and replace its single
  `<audio>` placeholder.

Prompt (`--version llama32_audio_v1_mmtag`, `mm_use_audio_start_end=True`)
- The tokenizer gets the added special tokens `<Audio>`, `</Audio>`, `<audio_start>`,
  `<audio_end>` (and `<unk>` as pad when none); `<audio>` itself is not a token: the text is
  split at `<audio>` and each becomes one placeholder id (-300) that the model replaces by
  the audio embeddings.
- The conversation (one user turn, one assistant turn; the LLaSO sample's `human` value is
  used verbatim) is rendered in the Llama-3 layout, role headers
  `<|start_header_id|>{role}<|end_header_id|>` + blank line, turns closed by `<|eot_id|>`.
- Then every `<audio>` is wrapped, decided by the user text before the first `<audio>`
  (stripped): if it is non-empty (text instruction, then audio),
  `<audio>` -> `\\n<Audio><audio_start><audio><audio_end></Audio>\\n\\n`; if it is empty (audio
  first), `<audio>` -> `<Audio><audio_start><audio><audio_end></Audio>\\n`.
- The prompt fed to `generate` is the rendering cut right after
  `<|start_header_id|>assistant<|end_header_id|>\\n\\n`.

The template's system prompt is `conv_llama32_audio_v1_mmtag.system` in the official
`llaso/conversation.py`, verbatim (no space after "language."); its LLAMA_3 rendering starts
with the system header (the tokenizer adds the one `<|begin_of_text|>`), and
DEFAULT_AUDIO_START/END_TOKEN are `<audio_start>`/`<audio_end>` (`llaso/constants.py`).
Checkpoints imported before llaso used this prompt record another one in llaso_import.json;
loading them warns and says how to re-import.

Our side: `LlasoConfig` in fidelity mode (`encoder_mode="padded"`, `stack_factor=1`), the
tokenizer with `<|audio|>` added, a 128-bin WhisperFeatureExtractor, and a chat template
that renders exactly the official prompt with `<|audio|>` where the official `<audio>` goes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llaso.checkpoints.llaso_folder import IMPORT_RECORD
from llaso.errors import LlasoError

logger = logging.getLogger(__name__)

OFFICIAL_MODEL_TYPE = "llava_llama"
AUDIO_TOKEN = "<|audio|>"
OFFICIAL_SYSTEM_PROMPT = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant is able to understand the audio content that the user provides, and assist the user "
    "with a variety of tasks using natural language."
    "The audio content will be provided with the following format: <Audio>audio content</Audio>."
)
BEGIN_OF_TEXT = "<|begin_of_text|>"
OFFICIAL_MARKER_TOKENS = ("<Audio>", "</Audio>", "<audio_start>", "<audio_end>")
# Official keys that are not part of the LLM.
PROJECTOR_PREFIX = "model.mm_audio_aligner.projector."
AUDIO_TOWER_PREFIXES = (
    "model.audio_tower.audio_tower.",
    "model.mm_audio_tower.audio_tower.",
)
_NON_LLM_PREFIXES = ("model.mm_audio_aligner.", "model.audio_tower.", "model.mm_audio_tower.")
# Config fields of the LLaVA wrapper that are not Llama's.
_WRAPPER_FIELDS = re.compile(
    r"^(mm_|audio_|tune_|freeze_|image_|tokenizer_|unfreeze_|use_mm_|query_)|^(language|task|local_files_only)$"
)
# Whisper attention heads are 64 wide in every released size (tiny .. large-v3).
WHISPER_HEAD_DIM = 64
MAX_SHARD_BYTES = 4 * 1024**3


class AudioTowerIgnoredWarning(UserWarning):
    """An encoder folder was given for a checkpoint that holds its own encoder weights."""


class OfficialCheckpointError(LlasoError, ValueError):
    """An official LLaSO-Base directory that cannot be imported; names the file and the reason."""


# --- the chat template ----------------------------------------------------------------------


def _jinja_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"


def official_chat_template(system_prompt: str = OFFICIAL_SYSTEM_PROMPT, begin_text: str = BEGIN_OF_TEXT,
                           audio_token: str = AUDIO_TOKEN) -> str:
    """A jinja chat template that renders the official `llama32_audio_v1_mmtag` prompt.

    Message contents come from llaso's processor, which joins a message's parts with one
    newline; the newlines it put around an audio placeholder are dropped here, so
    [text, audio] renders as the official "text<audio>" and [audio, text] as "<audio>text".
    A system message replaces the default system prompt.
    """
    a = _jinja_string(audio_token)
    text_first = _jinja_string("\n<Audio><audio_start>") + " + " + a + " + " + _jinja_string("<audio_end></Audio>\n\n")
    audio_first = _jinja_string("<Audio><audio_start>") + " + " + a + " + " + _jinja_string("<audio_end></Audio>\n")
    header = "'<|start_header_id|>' + {role} + '<|end_header_id|>\\n\\n'"
    return (
        "{%- set ns = namespace(system=" + _jinja_string(system_prompt) + ") -%}"
        "{%- if messages and messages[0]['role'] == 'system' -%}"
        "{%- set ns.system = messages[0]['content'] -%}"
        "{%- endif -%}"
        "{{- " + _jinja_string(begin_text) + " + " + header.format(role="'system'") + " + ns.system + '<|eot_id|>' -}}"
        "{%- for message in messages if message['role'] != 'system' -%}"
        "{%- set content = message['content'] -%}"
        "{%- if message['role'] == 'user' and " + a + " in content -%}"
        "{%- set content = content.replace('\\n' + " + a + ", " + a + ").replace(" + a + " + '\\n', " + a + ") -%}"
        "{%- if content.split(" + a + ")[0] | trim -%}"
        "{%- set content = content.replace(" + a + ", " + text_first + ") -%}"
        "{%- else -%}"
        "{%- set content = content.replace(" + a + ", " + audio_first + ") -%}"
        "{%- endif -%}"
        "{%- endif -%}"
        "{{- " + header.format(role="message['role']") + " + content + '<|eot_id|>' -}}"
        "{%- endfor -%}"
        "{%- if add_generation_prompt -%}"
        "{{- " + header.format(role="'assistant'") + " -}}"
        "{%- endif -%}"
    )


# --- reading the official directory ---------------------------------------------------------


def _read_config(src: Path) -> dict[str, Any]:
    path = src / "config.json"
    if not path.is_file():
        raise OfficialCheckpointError(f"{src}: no config.json; is this an LLaSO-Base checkpoint directory?")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise OfficialCheckpointError(f"{path}: not valid JSON ({exc})") from exc
    if config.get("model_type") != OFFICIAL_MODEL_TYPE:
        raise OfficialCheckpointError(
            f"{path}: model_type is {config.get('model_type')!r}, expected {OFFICIAL_MODEL_TYPE!r}"
        )
    return config


def _weight_files(folder: Path) -> list[Path]:
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        names = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return [folder / name for name in names]
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raw = sorted(folder.glob("*.bin"))
        hint = " (only pickle .bin files, which llaso does not load: convert them to safetensors)" if raw else ""
        raise OfficialCheckpointError(f"{folder}: no safetensors weights{hint}")
    return files


def _read_tensors(folder: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    state: dict[str, Any] = {}
    for path in _weight_files(folder):
        if not path.is_file():
            raise OfficialCheckpointError(f"{path}: listed in the index but missing")
        state.update(load_file(str(path)))
    return state


def _split_official_state(state: dict[str, Any], src: Path) -> tuple[dict, dict, dict]:
    """(llm, projector, audio tower) tensors under llaso's key names."""
    llm: dict[str, Any] = {}
    projector: dict[str, Any] = {}
    unknown = []
    for key, tensor in state.items():
        if key.startswith(PROJECTOR_PREFIX):
            projector["multi_modal_projector.mlp." + key[len(PROJECTOR_PREFIX):]] = tensor
        elif key.startswith("model.") and not key.startswith(_NON_LLM_PREFIXES):
            llm["language_model." + key] = tensor
        elif key.startswith("lm_head."):
            llm["language_model." + key] = tensor
        elif not key.startswith(_NON_LLM_PREFIXES):
            unknown.append(key)
    if unknown:
        raise OfficialCheckpointError(f"{src}: unexpected weights {unknown[:5]} (not LLM, projector or audio tower)")
    if not projector:
        raise OfficialCheckpointError(f"{src}: no projector weights under {PROJECTOR_PREFIX!r}")
    tower: dict[str, Any] = {}
    for prefix in AUDIO_TOWER_PREFIXES:
        for inner in ("", "encoder."):
            if prefix + inner + "conv1.weight" in state:
                start = prefix + inner
                tower = {"audio_tower." + k[len(start):]: v for k, v in state.items() if k.startswith(start)}
                break
        if tower:
            break
    return llm, projector, tower


def _tower_from_directory(path: Path) -> tuple[dict, Any]:
    """Encoder tensors (as `audio_tower.*`) and the WhisperConfig of a Whisper directory."""
    from transformers import WhisperConfig

    if not (path / "config.json").is_file():
        raise OfficialCheckpointError(f"{path}: not a Whisper directory (no config.json)")
    config = WhisperConfig.from_pretrained(path)
    state = _read_tensors(path)
    for start in ("model.encoder.", "encoder."):
        if start + "conv1.weight" in state:
            tower = {"audio_tower." + k[len(start):]: v for k, v in state.items() if k.startswith(start)}
            return tower, config
    raise OfficialCheckpointError(f"{path}: no Whisper encoder weights (model.encoder.* or encoder.*)")


def _whisper_config_from_tensors(tower: dict[str, Any]):
    """WhisperConfig for encoder-only tensors: sizes read off the shapes."""
    from transformers import WhisperConfig

    d_model, n_mels, _ = tower["audio_tower.conv1.weight"].shape
    layers = {int(m.group(1)) for k in tower if (m := re.match(r"audio_tower\.layers\.(\d+)\.", k))}
    return WhisperConfig(
        d_model=int(d_model),
        num_mel_bins=int(n_mels),
        encoder_layers=len(layers),
        decoder_layers=len(layers),
        encoder_attention_heads=int(d_model) // WHISPER_HEAD_DIM,
        decoder_attention_heads=int(d_model) // WHISPER_HEAD_DIM,
        encoder_ffn_dim=int(tower["audio_tower.layers.0.fc1.weight"].shape[0]),
        decoder_ffn_dim=int(tower["audio_tower.layers.0.fc1.weight"].shape[0]),
        max_source_positions=int(tower["audio_tower.embed_positions.weight"].shape[0]),
    )


def _text_config(official: dict[str, Any]):
    from transformers import LlamaConfig

    fields = {k: v for k, v in official.items() if not _WRAPPER_FIELDS.search(k)}
    for key in ("model_type", "architectures", "_name_or_path", "transformers_version", "auto_map"):
        fields.pop(key, None)
    config = LlamaConfig(**fields)
    config.architectures = ["LlamaForCausalLM"]
    return config


@dataclass
class OfficialImport:
    """An official checkpoint translated to llaso's config, state dict and processor."""

    config: Any  # LlasoConfig
    state: dict[str, Any]
    processor: Any  # LlasoProcessor
    generation_config: dict[str, Any] | None


def read_official_checkpoint(src: Path, *, audio_tower_path: Path | None = None,
                             system_prompt: str = OFFICIAL_SYSTEM_PROMPT) -> OfficialImport:
    """Read an official LLaSO-Base directory into llaso's config, tensors and processor."""
    from transformers import AutoTokenizer, WhisperFeatureExtractor

    from llaso.model.configuration_llaso import LlasoConfig
    from llaso.processing import LlasoProcessor, ProcessorSettings

    src = Path(src)
    official = _read_config(src)
    llm, projector, tower = _split_official_state(_read_tensors(src), src)
    audio_config = None
    feature_dir: Path | None = None
    if audio_tower_path is None and not tower:
        candidate = Path(str(official.get("mm_audio_tower", ""))).expanduser()
        if candidate.is_dir():
            audio_tower_path = candidate
    if audio_tower_path is not None and tower:
        # The checkpoint's own tower is the one it was trained with (an encoder-tuned variant
        # differs from stock Whisper): the folder only lends its feature extractor settings.
        warnings.warn(
            f"{src} holds its own audio tower weights; they are used, not those in {audio_tower_path}",
            AudioTowerIgnoredWarning,
            stacklevel=3,
        )
        feature_dir = Path(audio_tower_path)
    elif audio_tower_path is not None:
        tower, audio_config = _tower_from_directory(Path(audio_tower_path))
        feature_dir = Path(audio_tower_path)
    elif not tower:
        raise OfficialCheckpointError(
            f"{src}: the checkpoint holds no audio tower weights and {official.get('mm_audio_tower')!r} "
            "is not a local directory: pass the whisper-large-v3 directory (--audio-tower PATH)"
        )
    if audio_config is None:
        audio_config = _whisper_config_from_tensors(tower)

    text_config = _text_config(official)
    if "language_model.lm_head.weight" not in llm and not text_config.tie_word_embeddings:
        raise OfficialCheckpointError(f"{src}: lm_head.weight missing and tie_word_embeddings is false")
    projector_type = official.get("audio_projector_type", "linear")
    in_width = projector["multi_modal_projector.mlp.0.weight"].shape[1]
    if in_width != audio_config.d_model:
        raise OfficialCheckpointError(
            f"{src}: the projector takes {in_width}-wide frames but the audio tower gives {audio_config.d_model}"
        )

    try:
        tokenizer = AutoTokenizer.from_pretrained(src)
    except (OSError, ValueError) as exc:
        raise OfficialCheckpointError(f"{src}: cannot load the tokenizer ({exc})") from exc
    missing_markers = [t for t in OFFICIAL_MARKER_TOKENS if t not in tokenizer.get_vocab()]
    if missing_markers:
        raise OfficialCheckpointError(
            f"{src}: the tokenizer lacks the official audio markers {missing_markers}; "
            "it was not saved by the llama32_audio_v1_mmtag recipe"
        )
    if feature_dir is not None and (feature_dir / "preprocessor_config.json").is_file():
        feature_extractor = WhisperFeatureExtractor.from_pretrained(feature_dir)
    else:
        feature_extractor = WhisperFeatureExtractor(feature_size=audio_config.num_mel_bins)
    if feature_extractor.feature_size != audio_config.num_mel_bins:
        raise OfficialCheckpointError(
            f"feature extractor makes {feature_extractor.feature_size} mel bins, the encoder takes "
            f"{audio_config.num_mel_bins}"
        )
    settings = ProcessorSettings(
        audio_token=AUDIO_TOKEN, stack_factor=1, encoder_mode="padded", max_audio_windows=20
    )
    processor = LlasoProcessor(tokenizer, feature_extractor, official_chat_template(system_prompt), settings,
                               audio_config)
    config = LlasoConfig(
        audio_config=audio_config,
        text_config=text_config,
        projector_type=projector_type,
        stack_factor=1,
        audio_token=AUDIO_TOKEN,
        audio_token_id=processor.audio_token_id,
        encoder_mode="padded",
        max_audio_windows=settings.max_audio_windows,
    )
    config.architectures = ["LlasoForConditionalGeneration"]
    generation_path = src / "generation_config.json"
    generation = json.loads(generation_path.read_text()) if generation_path.is_file() else None
    state = {**tower, **projector, **llm}
    return OfficialImport(config=config, state=state, processor=processor, generation_config=generation)


# --- writing and loading --------------------------------------------------------------------


def _save_sharded(state: dict[str, Any], out_dir: Path) -> None:
    """Write `state` as model.safetensors, or shards plus an index past MAX_SHARD_BYTES."""
    from safetensors.torch import save_file

    shards: list[dict[str, Any]] = [{}]
    size = 0
    for name in sorted(state):
        tensor = state[name].contiguous()
        nbytes = tensor.numel() * tensor.element_size()
        if shards[-1] and size + nbytes > MAX_SHARD_BYTES:
            shards.append({})
            size = 0
        shards[-1][name] = tensor
        size += nbytes
    if len(shards) == 1:
        save_file(shards[0], str(out_dir / "model.safetensors"), metadata={"format": "pt"})
        return
    weight_map = {}
    total = 0
    for i, shard in enumerate(shards, 1):
        file_name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(out_dir / file_name), metadata={"format": "pt"})
        for name, tensor in shard.items():
            weight_map[name] = file_name
            total += tensor.numel() * tensor.element_size()
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (out_dir / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")


def convert_llaso_base(src: Path, dst: Path, *, audio_tower_path: Path | None = None,
                       system_prompt: str = OFFICIAL_SYSTEM_PROMPT) -> Path:
    """Write a llaso checkpoint (fidelity mode) at `dst` from the official directory `src`.

    Written into a temporary directory beside `dst` and renamed into place, so an
    interrupted run leaves nothing half-written. An existing `dst` is an error.
    """
    src, dst = Path(src), Path(dst)
    if dst.exists():
        raise OfficialCheckpointError(f"{dst}: already exists; choose a new destination or remove it")
    imported = read_official_checkpoint(src, audio_tower_path=audio_tower_path, system_prompt=system_prompt)
    dst.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dst.name}.tmp-", dir=dst.parent))
    try:
        imported.config.save_pretrained(work)
        _save_sharded(imported.state, work)
        imported.processor.save_pretrained(work)
        if imported.generation_config is not None:
            (work / "generation_config.json").write_text(json.dumps(imported.generation_config, indent=2) + "\n")
        (work / IMPORT_RECORD).write_text(json.dumps({
            "source": str(src.resolve()),
            "audio_tower": str(audio_tower_path) if audio_tower_path else "checkpoint",
            "system_prompt": system_prompt,
        }, indent=2) + "\n")
        for path in work.iterdir():
            path.chmod(0o644)
        work.chmod(0o755)
        os.replace(work, dst)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    logger.info("imported %s into %s (%d tensors)", src, dst, len(imported.state))
    return dst


def load_official_as_llaso(src: Path, *, audio_tower_path: Path | None = None, dtype: Any = None,
                           system_prompt: str = OFFICIAL_SYSTEM_PROMPT):
    """Load an official LLaSO-Base directory straight into (LlasoForConditionalGeneration, LlasoProcessor)."""
    import torch

    from llaso.checkpoints.assemble import assemble_model

    imported = read_official_checkpoint(Path(src), audio_tower_path=audio_tower_path, system_prompt=system_prompt)
    model = assemble_model(imported.config, imported.state, dtype=dtype or torch.float32)
    if imported.generation_config:
        from transformers import GenerationConfig

        model.language_model.generation_config = GenerationConfig.from_dict(imported.generation_config)
    return model, imported.processor
