"""The GGUF -> transformers converter: the cached SmolLM2 directory equals the GGUF model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from llaso.checkpoints.base_weights import SMOLLM2_135M_INSTRUCT, locate_package_file
from llaso.checkpoints.convert.gguf_llm import GGUFConversionError, convert_gguf_causal_lm

CHAT = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def gguf_reference():
    """The model as transformers reads it from GGUF: the one slow load of this module."""
    from transformers import AutoModelForCausalLM

    gguf = locate_package_file(SMOLLM2_135M_INSTRUCT)
    return AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name).eval()


@pytest.fixture(scope="module")
def converted(smollm2_dir: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (
        AutoModelForCausalLM.from_pretrained(smollm2_dir).eval(),
        AutoTokenizer.from_pretrained(smollm2_dir),
    )


def test_directory_is_plain_transformers(smollm2_dir: Path) -> None:
    config = json.loads((smollm2_dir / "config.json").read_text())
    assert "quantization_config" not in config
    assert config["tie_word_embeddings"] is True
    from safetensors import safe_open

    with safe_open(smollm2_dir / "model.safetensors", framework="pt") as weights:
        keys = set(weights.keys())
    assert "model.embed_tokens.weight" in keys and "lm_head.weight" not in keys


def test_loads_without_missing_keys(smollm2_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    model, info = AutoModelForCausalLM.from_pretrained(smollm2_dir, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()


def test_logits_equal_gguf_model(converted, gguf_reference) -> None:
    model, tokenizer = converted
    ids = tokenizer.apply_chat_template(CHAT, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    assert tokenizer.decode(ids["input_ids"][0]).endswith("<|im_start|>assistant\n")
    with torch.no_grad():
        ours = model(**ids).logits
        reference = gguf_reference(**ids).logits
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-5)


def test_greedy_answer_names_paris(converted) -> None:
    model, tokenizer = converted
    ids = tokenizer.apply_chat_template(CHAT, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=20, do_sample=False)
    answer = tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Paris" in answer, answer


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GGUFConversionError, match="no such file"):
        convert_gguf_causal_lm(tmp_path / "absent.gguf", tmp_path / "out")


def test_non_gguf_file_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"not a gguf file at all")
    with pytest.raises(GGUFConversionError, match="model.gguf"):
        convert_gguf_causal_lm(bogus, tmp_path / "out")
