"""A tiny checkpoint in the official LLaSO-Base layout (llava_llama), written once per session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from llaso.checkpoints.official import OFFICIAL_SYSTEM_PROMPT

MARKERS = ["<Audio>", "</Audio>", "<audio_start>", "<audio_end>"]
SAMPLES = [  # human values as LLaSO-Eval writes them: text then audio, audio then text, audio only
    "Transcribe the spoken words from the following audio clip. Ensure the text matches exactly "
    "what was said, and return no other information.<audio>",
    "<audio>Revolutionary New Battery Technology Promises to Extend Electric Vehicle Range by 100%.",
    "<audio>",
]
LLAMA_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]


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



@pytest.fixture(scope="session")
def write_official():
    """`write_official(root, tower_inside=...)` -> {"src", "tower_dir", "llm", "encoder", "projector"}."""
    return _write_official


@pytest.fixture(scope="session")
def official(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _write_official(tmp_path_factory.mktemp("llaso-base"), tower_inside=True)
