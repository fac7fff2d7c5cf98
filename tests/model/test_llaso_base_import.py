"""Importing the official LLaSO-Base layout, on a tiny checkpoint written in that layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import save_file

from llaso.data.schema import sample_to_messages
from llaso.model.convert.llaso_base import (
    OFFICIAL_SYSTEM_PROMPT,
    OfficialCheckpointError,
    convert_llaso_base,
    load_official_as_llaso,
)
from llaso.processing.messages import flatten_messages

USER_HEADER = "<|start_header_id|>user<|end_header_id|>"
ASSISTANT_HEADER = "<|start_header_id|>assistant<|end_header_id|>\n\n"
MARKERS = ["<Audio>", "</Audio>", "<audio_start>", "<audio_end>"]
LLAMA_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
SAMPLES = [  # human values as LLaSO-Eval writes them: text then audio, audio then text, audio only
    "Transcribe the spoken words from the following audio clip. Ensure the text matches exactly "
    "what was said, and return no other information.<audio>",
    "<audio>Revolutionary New Battery Technology Promises to Extend Electric Vehicle Range by 100%.",
    "<audio>",
]


def official_prompt(human: str, answer: str = "an answer", system: str = OFFICIAL_SYSTEM_PROMPT) -> str:
    """The prompt string of the official llama32_audio_v1_mmtag recipe (see llaso_base's docstring)."""
    text = (
        f"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>"
        f"{USER_HEADER}\n\n{human}<|eot_id|>{ASSISTANT_HEADER}{answer}<|eot_id|>"
    )
    before_audio = text[text.find(USER_HEADER) + len(USER_HEADER) : text.find("<audio>")].strip()
    if before_audio:
        text = text.replace("<audio>", "\n<Audio><audio_start><audio><audio_end></Audio>\n\n")
    else:
        text = text.replace("<audio>", "<Audio><audio_start><audio><audio_end></Audio>\n")
    return text.split(ASSISTANT_HEADER)[0] + ASSISTANT_HEADER


def _tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<unk>", *LLAMA_SPECIALS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    backend.train_from_iterator([*SAMPLES, OFFICIAL_SYSTEM_PROMPT, "user assistant system"] * 3, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>", unk_token="<unk>",
        pad_token="<unk>",
    )
    tokenizer.add_special_tokens({"additional_special_tokens": MARKERS})  # as the mmtag recipe does
    return tokenizer


def _tiny_parts(vocab_size: int):
    from transformers import LlamaConfig, LlamaForCausalLM, WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    torch.manual_seed(0)
    text_config = LlamaConfig(
        vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
        tie_word_embeddings=True, bos_token_id=1, eos_token_id=5,
    )
    whisper_config = WhisperConfig(
        d_model=128, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=256, decoder_ffn_dim=256, num_mel_bins=128, max_source_positions=1500, vocab_size=100,
        pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=3, max_target_positions=32,
    )
    llm = LlamaForCausalLM(text_config)
    encoder = WhisperEncoder(whisper_config)
    projector = torch.nn.Sequential(torch.nn.Linear(128, 64), torch.nn.GELU(), torch.nn.Linear(64, 64))
    return text_config, whisper_config, llm, encoder, projector


def _official_config(text_config, tower_path: str) -> dict:
    config = text_config.to_dict()
    config.update({
        "model_type": "llava_llama", "architectures": ["LlavaLlamaForCausalLM"],
        "mm_audio_tower": tower_path, "audio_projector_type": "mlp2x_gelu", "mm_audio_hidden_size": 128,
        "mm_audio_select_layer": -1, "mm_audio_select_feature": "patch", "mm_use_audio_start_end": True,
        "tune_mm_audio_projector": False, "use_mm_proj": True, "language": "English", "task": "transcribe",
        "local_files_only": False, "tokenizer_model_max_length": 2048, "tokenizer_padding_side": "right",
    })
    return config


def _write_official(root: Path, *, tower_inside: bool) -> dict:
    """A tiny checkpoint in the official layout; returns the original modules for comparison."""
    tokenizer = _tiny_tokenizer()
    text_config, whisper_config, llm, encoder, projector = _tiny_parts(len(tokenizer))
    src = root / ("official" if tower_inside else "official-no-tower")
    src.mkdir(parents=True)
    tower_dir = root / "whisper-large-v3-tiny"
    state = {k: v for k, v in llm.state_dict().items() if k != "lm_head.weight"}  # tied, as Llama-3.2
    state.update({f"model.mm_audio_aligner.projector.{k}": v for k, v in projector.state_dict().items()})
    if tower_inside:
        state.update({f"model.audio_tower.audio_tower.{k}": v for k, v in encoder.state_dict().items()})
    else:
        from transformers import WhisperForConditionalGeneration

        whisper = WhisperForConditionalGeneration(whisper_config)
        whisper.model.encoder.load_state_dict(encoder.state_dict())
        whisper.save_pretrained(tower_dir)
    names = sorted(state)
    half = len(names) // 2
    shards = {"model-00001-of-00002.safetensors": names[:half], "model-00002-of-00002.safetensors": names[half:]}
    weight_map = {}
    for file_name, keys in shards.items():
        save_file({k: state[k].contiguous() for k in keys}, str(src / file_name))
        weight_map.update({k: file_name for k in keys})
    (src / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    tower_name = "/nonexistent/whisper-large-v3" if tower_inside else str(tower_dir)
    (src / "config.json").write_text(json.dumps(_official_config(text_config, tower_name)))
    generation = {"bos_token_id": 1, "eos_token_id": [5], "do_sample": False}
    (src / "generation_config.json").write_text(json.dumps(generation))
    tokenizer.save_pretrained(src)
    return {"src": src, "tower_dir": tower_dir, "llm": llm, "encoder": encoder, "projector": projector}


@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _write_official(tmp_path_factory.mktemp("llaso-base"), tower_inside=True)


@pytest.fixture(scope="module")
def converted(official: dict, tmp_path_factory: pytest.TempPathFactory):
    from llaso.model.modeling_llaso import LlasoForConditionalGeneration
    from llaso.processing import LlasoProcessor

    dst = convert_llaso_base(official["src"], tmp_path_factory.mktemp("ours") / "llaso-base")
    model = LlasoForConditionalGeneration.from_pretrained(dst, dtype=torch.float32).eval()
    return dst, model, LlasoProcessor.from_pretrained(dst)


@pytest.fixture(scope="module")
def clip_5s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "tone.wav"
    t = np.arange(5 * 16000) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000)
    return path


def test_weights_land_in_place(official: dict, converted) -> None:
    _, model, _ = converted
    ours = model.state_dict()
    for name, tensor in official["encoder"].state_dict().items():
        torch.testing.assert_close(ours[f"audio_tower.{name}"], tensor, rtol=0, atol=0)
    for name, tensor in official["projector"].state_dict().items():
        torch.testing.assert_close(ours[f"multi_modal_projector.mlp.{name}"], tensor, rtol=0, atol=0)
    for name, tensor in official["llm"].state_dict().items():
        torch.testing.assert_close(ours[f"language_model.{name}"], tensor, rtol=0, atol=0)
    lm = model.language_model
    assert lm.lm_head.weight.data_ptr() == lm.model.embed_tokens.weight.data_ptr()


def test_config_is_fidelity_mode(converted, clip_5s: Path) -> None:
    dst, model, processor = converted
    config = model.config
    assert config.fidelity and config.encoder_mode == "padded" and config.stack_factor == 1
    assert config.audio_config.num_mel_bins == 128 and config.audio_config.d_model == 128
    assert config.audio_config.encoder_attention_heads == 2  # from the tower's shapes: 128 / 64
    assert config.text_config.model_type == "llama" and not hasattr(config.text_config, "mm_audio_tower")
    assert processor.feature_extractor.feature_size == 128
    assert processor.tokenizer.convert_ids_to_tokens(config.audio_token_id) == "<|audio|>"
    encoded = processor.encode([{"role": "user", "content": [{"type": "audio", "path": str(clip_5s)}]}])
    assert encoded.audio_token_counts == [1500]
    assert encoded.input_ids.count(config.audio_token_id) == 1500
    assert tuple(encoded.audio_features[0].shape) == (128, 3000)
    assert json.loads((dst / "generation_config.json").read_text())["eos_token_id"] == [5]


@pytest.mark.parametrize("human", SAMPLES)
def test_prompt_equals_official(converted, human: str) -> None:
    _, _, processor = converted
    sample = {"conversations": [{"from": "human", "value": human}, {"from": "gpt", "value": "x"}],
              "voice": ["clip.wav"] * human.count("<audio>")}
    messages = sample_to_messages(sample)[:1]
    flat = flatten_messages(messages, processor.settings.audio_token)
    rendered = processor.render(flat.turns, add_generation_prompt=True)
    assert rendered == official_prompt(human).replace("<audio>", "<|audio|>")


def test_prompt_tokens_keep_markers_whole(converted, clip_5s: Path) -> None:
    _, model, processor = converted
    parts = [{"type": "text", "text": "Transcribe."}, {"type": "audio", "path": str(clip_5s)}]
    messages = [{"role": "user", "content": parts}]
    tokens = processor.tokenizer.convert_ids_to_tokens(processor.encode(messages).input_ids)
    start = tokens.index("<|audio|>")
    assert tokens[start - 2 : start] == ["<Audio>", "<audio_start>"]
    assert tokens[start + 1500 : start + 1502] == ["<audio_end>", "</Audio>"]
    assert tokens[0] == "<|begin_of_text|>" and tokens.count("<|begin_of_text|>") == 1


def test_forward_pass_and_direct_load_agree(official: dict, converted, clip_5s: Path) -> None:
    _, model, processor = converted
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is said?"},
                                             {"type": "audio", "path": str(clip_5s)}]}]
    batch = processor.collate([processor.encode(messages)])
    batch.pop("labels")
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (1, batch["input_ids"].shape[1], model.config.text_config.vocab_size)
    assert torch.isfinite(logits).all()
    direct, direct_processor = load_official_as_llaso(official["src"])
    assert direct_processor.render([{"role": "user", "content": "hi"}], True) == processor.render(
        [{"role": "user", "content": "hi"}], True
    )
    with torch.no_grad():
        torch.testing.assert_close(direct(**batch).logits, logits)


def test_separate_audio_tower_directory(tmp_path: Path) -> None:
    official = _write_official(tmp_path, tower_inside=False)
    with pytest.raises(OfficialCheckpointError, match="--audio-tower"):
        broken = json.loads((official["src"] / "config.json").read_text())
        broken["mm_audio_tower"] = "openai/whisper-large-v3"  # a hub name: never downloaded
        (official["src"] / "config.json").write_text(json.dumps(broken))
        convert_llaso_base(official["src"], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    dst = convert_llaso_base(official["src"], tmp_path / "out", audio_tower_path=official["tower_dir"])
    from llaso.model.modeling_llaso import LlasoForConditionalGeneration

    model = LlasoForConditionalGeneration.from_pretrained(dst, dtype=torch.float32)
    for name, tensor in official["encoder"].state_dict().items():
        torch.testing.assert_close(model.state_dict()[f"audio_tower.{name}"], tensor, rtol=0, atol=0)


def test_rejects_other_layouts(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(OfficialCheckpointError, match="llava_llama"):
        convert_llaso_base(tmp_path, tmp_path / "out")


def test_cli_converts(official: dict, tmp_path: Path) -> None:
    from llaso.cli.main import main

    assert main(["convert", "llaso-base", str(official["src"]), str(tmp_path / "cli")]) == 0
    assert json.loads((tmp_path / "cli" / "config.json").read_text())["model_type"] == "llaso"
    assert main(["convert", "llaso-base", str(official["src"]), str(tmp_path / "cli")]) == 2  # exists
