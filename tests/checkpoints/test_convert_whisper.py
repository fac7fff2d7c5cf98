"""The CTranslate2 -> transformers Whisper converter, checked against CTranslate2 itself."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from llaso.checkpoints.base_weights import WHISPER_TINY_EN, locate_package_file
from llaso.checkpoints.convert.ctranslate2_whisper import (
    CTranslate2FormatError,
    convert_ctranslate2_whisper,
    read_ctranslate2_model,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
CLIP = FIXTURES / "hello_espeak.wav"
SENTENCE = (FIXTURES / "hello_espeak.txt").read_text().strip()


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()


def _word_error_rate(hypothesis: str, reference: str) -> float:
    hyp, ref = _words(hypothesis), _words(reference)
    row = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, hyp_word in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ref_word != hyp_word))
    return row[-1] / max(len(ref), 1)


@pytest.fixture(scope="module")
def package_dir() -> Path:
    return locate_package_file(WHISPER_TINY_EN)


@pytest.fixture(scope="module")
def converted(package_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert_ctranslate2_whisper(package_dir, tmp_path_factory.mktemp("whisper") / "tiny.en")


@pytest.fixture(scope="module")
def features(converted: Path) -> np.ndarray:
    from transformers import WhisperFeatureExtractor

    samples, rate = sf.read(CLIP, dtype="float32")
    assert rate == 16000 and samples.ndim == 1
    extractor = WhisperFeatureExtractor.from_pretrained(converted)
    return extractor(samples, sampling_rate=16000, return_tensors="np").input_features


@pytest.fixture(scope="module")
def model(converted: Path):
    from transformers import WhisperForConditionalGeneration

    return WhisperForConditionalGeneration.from_pretrained(converted).eval()


def test_reader_resolves_alias_and_shapes(package_dir: Path) -> None:
    ct2 = read_ctranslate2_model(package_dir / "model.bin")
    assert ct2.spec == "WhisperSpec"
    v = ct2.variables
    assert v["decoder/projection/weight"] is v["decoder/embeddings/weight"]
    assert v["encoder/layer_0/self_attention/linear_0/weight"].shape == (3 * 384, 384)
    assert v["decoder/layer_0/attention/linear_1/weight"].shape == (2 * 384, 384)


def test_reader_rejects_truncated_file(package_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "model.bin"
    broken.write_bytes((package_dir / "model.bin").read_bytes()[:5000])
    with pytest.raises(CTranslate2FormatError, match="truncated"):
        read_ctranslate2_model(broken)


def test_reader_rejects_other_format_version(tmp_path: Path) -> None:
    odd = tmp_path / "model.bin"
    odd.write_bytes(struct.pack("<I", 5) + b"\0" * 16)
    with pytest.raises(CTranslate2FormatError, match="version 5"):
        read_ctranslate2_model(odd)


def test_config_derived_from_tensors(model) -> None:
    config = model.config
    assert (config.d_model, config.encoder_layers, config.decoder_layers) == (384, 4, 4)
    assert (config.encoder_attention_heads, config.encoder_ffn_dim) == (6, 1536)
    assert (config.vocab_size, config.num_mel_bins) == (51864, 80)
    assert (config.max_source_positions, config.max_target_positions) == (1500, 448)
    generation = model.generation_config
    assert generation.decoder_start_token_id == 50257
    assert generation.eos_token_id == 50256
    assert generation.no_timestamps_token_id == 50362
    assert generation.begin_suppress_tokens == [220, 50256]
    assert 50257 in generation.suppress_tokens
    # The LM head is tied to the decoder embeddings, as in CTranslate2's alias.
    assert model.proj_out.weight.data_ptr() == model.model.decoder.embed_tokens.weight.data_ptr()
    assert model.model.encoder.layers[0].self_attn.k_proj.bias is None


def test_encoder_matches_ctranslate2(package_dir: Path, model, features: np.ndarray) -> None:
    import ctranslate2

    reference = ctranslate2.models.Whisper(str(package_dir), device="cpu", compute_type="float32")
    expected = np.array(reference.encode(ctranslate2.StorageView.from_array(features), to_cpu=True))
    with torch.no_grad():
        ours = model.model.encoder(torch.from_numpy(features)).last_hidden_state.numpy()
    assert ours.shape == expected.shape == (1, 1500, 384)
    assert np.abs(ours - expected).max() < 1e-3


def test_greedy_transcript(converted: Path, model, features: np.ndarray) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(converted)
    assert tokenizer.convert_ids_to_tokens([50257, 50362, 50363]) == [
        "<|startoftranscript|>",
        "<|notimestamps|>",
        "<|0.00|>",
    ]
    prompt = torch.tensor([[50257, 50362]])
    with torch.no_grad():
        ids = model.generate(torch.from_numpy(features), decoder_input_ids=prompt, max_new_tokens=30)
    text = tokenizer.decode(ids[0], skip_special_tokens=True)
    assert _word_error_rate(text, SENTENCE) <= 0.2, text
