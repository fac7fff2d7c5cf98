"""The encoder registry: Whisper and wav2vec2/HuBERT behind one interface, end to end.

A small randomly initialised wav2vec2 and HuBERT are built from their configs, saved as
checkpoint folders, composed with a small LLM and run through processor, model and engine:
plumbing, not quality.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from llaso.model.encoders import encoder_for, encoder_types
from llaso.model.encoders.whisper import encoded_length


def _small_config(kind: str):
    from transformers import HubertConfig, Wav2Vec2Config

    cls = {"wav2vec2": Wav2Vec2Config, "hubert": HubertConfig}[kind]
    return cls(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
               conv_dim=(16, 16, 16, 16, 16, 16, 16), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
               mask_time_prob=0.0, do_stable_layer_norm=True, feat_extract_norm="layer")


@pytest.fixture(scope="module", params=["wav2vec2", "hubert"])
def raw_wave_parts(request, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A random wav2vec2 (or HuBERT) folder and a small Llama with SmolLM2's tokenizer."""
    from transformers import AutoModel, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from llaso.checkpoints.base_weights import ensure_smollm2_135m_instruct

    root = tmp_path_factory.mktemp(request.param)
    torch.manual_seed(0)
    config = _small_config(request.param)
    encoder = root / "encoder"
    AutoModel.from_config(config).save_pretrained(encoder)
    encoder_for(config).feature_extractor().save_pretrained(encoder)
    llm = root / "llm"
    llm.mkdir()
    smol = ensure_smollm2_135m_instruct()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(smol / name, llm / name)
    vocab = len(AutoTokenizer.from_pretrained(llm))
    LlamaForCausalLM(LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                 num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True,
                                 max_position_embeddings=512)).save_pretrained(llm)
    return {"encoder": encoder, "llm": llm, "kind": request.param}


def test_registry_lists_the_families() -> None:
    assert {"whisper", "wav2vec2", "hubert"} <= set(encoder_types())
    with pytest.raises(ValueError, match="no llaso audio encoder"):
        from transformers import BertConfig

        encoder_for(BertConfig())


def test_whisper_token_arithmetic_trimmed_and_padded() -> None:
    from transformers import WhisperConfig

    family = encoder_for(WhisperConfig(num_mel_bins=80))
    extractor = family.feature_extractor()
    one_second = np.zeros(16_000, np.float32)
    trimmed = family.featurize(extractor, one_second, "trimmed", stack_factor=4)
    # 1 s padded up to whole tokens of 4 frames: 13 tokens = 52 frames = 104 mel frames.
    assert trimmed.features.shape == (80, 104) and trimmed.num_frames == encoded_length(104) == 52
    padded = family.featurize(extractor, one_second, "padded", stack_factor=4)
    assert padded.features.shape == (80, 3000) and padded.num_frames == 1500
    assert family.frames_per_second() == 50


def test_raw_wave_frames_match_the_module(raw_wave_parts) -> None:
    """The processor's frame count (from the config's kernels and strides) is what the module makes."""
    config = _small_config(raw_wave_parts["kind"])
    family = encoder_for(config)
    module = family.build().eval()
    extractor = family.feature_extractor()
    for seconds in (0.3, 1.0, 2.7):
        got = family.featurize(extractor, np.random.default_rng(0).standard_normal(int(seconds * 16000)).astype(np.float32),
                               "trimmed", stack_factor=4)
        assert got.num_frames % 4 == 0
        with torch.no_grad():
            frames = family.encode(module, got.features[None], [got.features.shape[-1]])[0]
        assert frames.shape == (got.num_frames, 32)


def test_raw_wave_encoder_end_to_end(raw_wave_parts, tmp_path: Path) -> None:
    from llaso import Llaso, SamplingParams
    from llaso.checkpoints.compose import compose_from_base

    model, processor = compose_from_base(raw_wave_parts["encoder"], raw_wave_parts["llm"], stack_factor=4,
                                         summary_token=True, summary_layers=[1])
    assert model.config.audio_encoder_type == raw_wave_parts["kind"]
    clip = (0.1 * np.sin(np.arange(24_000) / 16_000 * 2 * np.pi * 220)).astype(np.float32)
    messages = [{"role": "user", "content": [{"type": "text", "text": "What do you hear?"},
                                             {"type": "audio", "audio": clip, "sampling_rate": 16000}]}]
    llaso = Llaso(model, processor)
    encoded = llaso.encode(messages)
    assert encoded.audio_features[0].shape[0] == 1  # one waveform channel
    # 1.5 s: 75 frames, padded to 76 = 19 stacked tokens, plus the summary token.
    assert encoded.input_ids.count(processor.audio_token_id) == encoded.audio_token_counts[0] == 19 + 1
    params = SamplingParams(max_new_tokens=4)
    first = llaso.chat(messages, params)
    # Saved and loaded back, the processor keeps its encoder family and the answer is the same.
    llaso.save_pretrained(tmp_path / "saved")
    again = Llaso.from_pretrained(tmp_path / "saved", device="cpu")
    assert again.processor.encoder.__class__ is processor.encoder.__class__
    assert again.chat(messages, params) == first
    batch = llaso.chat_batch([messages, messages], params)
    assert [r.text for r in batch] == [first, first]
