"""A tiny but real training setup: random small Whisper and Llama folders (with SmolLM2's
tokenizer), and a small LLaSO-format corpus of espeak-ng clips, built once per session."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

SENTENCES = [
    "the cat sat on the mat", "open the door please", "it is raining today", "i like green apples",
    "turn on the lights", "the dog runs fast", "we are going home", "she reads a book",
    "call me tomorrow", "the sun is bright", "close the window", "music makes me happy",
]


@pytest.fixture(scope="session")
def tiny_parts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """HF folders of a 2-layer Whisper encoder and a 2-layer Llama LLM (random weights)."""
    import torch
    from transformers import (
        LlamaConfig,
        LlamaForCausalLM,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
    )

    from llaso.checkpoints.base_weights import ensure_smollm2_135m_instruct

    root = tmp_path_factory.mktemp("tiny_parts")
    torch.manual_seed(0)
    whisper = root / "whisper"
    wcfg = WhisperConfig(
        d_model=64, encoder_layers=2, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=128, decoder_ffn_dim=128, num_mel_bins=80, vocab_size=128, max_target_positions=32,
        pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1,
    )
    WhisperForConditionalGeneration(wcfg).save_pretrained(whisper)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(whisper)

    llm = root / "llm"
    llm.mkdir()
    smol = ensure_smollm2_135m_instruct()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(smol / name, llm / name)
    from transformers import AutoTokenizer

    vocab = len(AutoTokenizer.from_pretrained(llm))
    lcfg = LlamaConfig(
        vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, tie_word_embeddings=True, max_position_embeddings=512,
    )
    LlamaForCausalLM(lcfg).save_pretrained(llm)
    return {"encoder": whisper, "llm": llm}


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROOT/{train,test}/ASR_ta_*.json + SGC_ta_*.json over espeak-ng clips in ROOT/audio."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    root = tmp_path_factory.mktemp("tiny_corpus")
    (root / "audio").mkdir()
    splits: dict[str, dict[str, list]] = {"train": {"ASR": [], "SGC": []}, "test": {"ASR": [], "SGC": []}}
    voices = [("en-us", "male"), ("en-us+f3", "female")]
    for i, text in enumerate(SENTENCES):
        split = "test" if i >= 10 else "train"
        for v, (voice, gender) in enumerate(voices):
            rel = f"audio/s{i}_{v}.wav"  # relative to ROOT; the sample files say ../audio/...
            subprocess.run(["espeak-ng", "-v", voice, "-s", "190", "-w", str(root / rel), text], check=True)
            splits[split]["ASR"].append({"voice": ["../" + rel], "conversations": [
                {"from": "human", "value": "Transcribe the audio.<audio>"}, {"from": "gpt", "value": text}]})
            splits[split]["SGC"].append({"voice": ["../" + rel], "conversations": [
                {"from": "human", "value": "Is the speaker male or female?<audio>"}, {"from": "gpt", "value": gender}]})
    for split, tasks in splits.items():
        (root / split).mkdir()
        for task, samples in tasks.items():
            (root / split / f"{task}_ta_{split}.json").write_text(json.dumps(samples, indent=1))
    return root


@pytest.fixture()
def stage_config(tiny_parts: dict[str, Path], tiny_corpus: Path, tmp_path: Path):
    """Write a stage YAML for the tiny setup; keyword overrides replace top-level sections."""

    def make(name: str = "tiny", **sections) -> Path:
        cfg = {
            "name": name,
            "output_dir": str(tmp_path / name),
            "seed": 3,
            "model": {"encoder": str(tiny_parts["encoder"]), "llm": str(tiny_parts["llm"]), "stack_factor": 4},
            "trainable": {"projector": True, "llm": "lora"},
            "lora": {"r": 4, "alpha": 8, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"]},
            "objective": {"lm_weight": 1.0, "ctc_weight": 0.3},
            "data": {
                "train": [str(tiny_corpus / "train" / "*.json")],
                "eval": [str(tiny_corpus / "test" / "*.json")],
                "cache_dir": str(tmp_path / "cache"),
            },
            "optim": {"lr": 3e-3},
            "schedule": {"kind": "constant", "max_steps": 12},
            "batch": {"size": 4, "grad_accum": 2},
            "checkpoint": {"every": 4, "keep_last": 10},
            "eval": {"every": 0, "num_samples": 4, "tasks": ["ASR", "SGC"], "max_new_tokens": 8},
            "log": {"every": 1},
            "threads": 1,
        }
        cfg.update(sections)
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    return make
