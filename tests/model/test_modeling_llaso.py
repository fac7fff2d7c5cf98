"""The model on a tiny random configuration: merge, encoder trimming, projector, save/load."""

import pytest
import torch
from transformers import LlamaConfig, WhisperConfig

from llaso.errors import PlaceholderMismatchError
from llaso.model.configuration_llaso import LlasoConfig
from llaso.model.modeling_llaso import LlasoForConditionalGeneration, merge_audio_embeddings
from llaso.model.projector import LlasoProjector, build_projector_mlp, widen_summary_input

AUDIO = 100  # audio token id in the tiny vocabulary


def tiny_config(**overrides) -> LlasoConfig:
    audio = WhisperConfig(d_model=32, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=64,
                          num_mel_bins=80, max_source_positions=1500)
    text = LlamaConfig(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=2,
                       num_key_value_heads=2, vocab_size=100, tie_word_embeddings=True)
    return LlasoConfig(audio_config=audio, text_config=text, audio_token_id=AUDIO, **overrides)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LlasoForConditionalGeneration(tiny_config()).eval()


def test_trimmed_encoding_is_the_same_alone_or_batched(model):
    features = torch.randn(2, 80, 400)
    mask = torch.ones(2, 400, dtype=torch.long)
    mask[1, 160:] = 0
    features[1, :, 160:] = 0
    batched = model.encode_audio(features, mask)
    alone = model.encode_audio(features[1:2, :, :160])
    assert [f.shape[0] for f in batched] == [200, 80]
    assert torch.allclose(batched[1], alone[0], atol=1e-5)


def test_projector_stacks_frames():
    projector = LlasoProjector("mlp2x_gelu", encoder_dim=8, llm_dim=16, stack_factor=4)
    assert projector(torch.randn(10, 8)).shape == (3, 16)  # ceil(10 / 4)
    assert projector(torch.randn(2, 12, 8)).shape == (2, 3, 16)
    assert len(build_projector_mlp("mlp3x_gelu", 4, 4)) == 5
    assert len(build_projector_mlp("linear", 4, 4)) == 1
    with pytest.raises(ValueError, match="unknown projector_type"):
        build_projector_mlp("transformer", 4, 4)


def test_summary_token_follows_the_stacked_tokens_and_reads_the_whole_clip():
    torch.manual_seed(0)
    projector = LlasoProjector("mlp2x_gelu", encoder_dim=8, llm_dim=16, stack_factor=4, summary_token=True)
    frames = torch.randn(10, 8)
    out = projector(frames)
    assert out.shape == (3 + 1, 16)
    assert torch.equal(out[:3], projector.mlp(torch.nn.functional.pad(frames, (0, 0, 0, 2)).reshape(3, 32)))
    # The summary depends on every frame, the last stacked token only on its own frames.
    changed = frames.clone()
    changed[0] += 1.0
    again = projector(changed)
    assert torch.allclose(again[2], out[2]) and not torch.allclose(again[3], out[3])
    assert projector(torch.randn(2, 12, 8)).shape == (2, 4, 16)


def test_summary_layers_widen_the_frames_the_stack_reads_the_last_layer_only(model):
    encode_whisper = model.encoder_family.encode
    features = torch.randn(1, 80, 120)
    plain = encode_whisper(model.audio_tower, features, [120])[0]
    wide = encode_whisper(model.audio_tower, features, [120], extra_layers=(0, 2))[0]
    assert wide.shape == (60, 3 * 32)
    assert torch.allclose(wide[:, :32], plain, atol=1e-6)
    extra = wide[:, 32:].reshape(60, 2, 32)  # layer-normalised per frame, without weights
    assert torch.allclose(extra.mean(-1), torch.zeros(60, 2), atol=1e-4)
    assert torch.allclose(extra.std(-1, unbiased=False), torch.ones(60, 2), atol=1e-2)
    with pytest.raises(ValueError, match="extra_layers"):
        encode_whisper(model.audio_tower, features, [120], extra_layers=(3,))

    torch.manual_seed(0)
    projector = LlasoProjector("mlp2x_gelu", encoder_dim=8, llm_dim=16, stack_factor=4, summary_token=True,
                               extra_layers=2)
    frames = torch.randn(10, 24)
    out = projector(frames)
    assert out.shape == (3 + 1, 16)
    changed = frames.clone()
    changed[:, 8:] += 1.0  # only the earlier layers differ
    again = projector(changed)
    assert torch.equal(again[:3], out[:3]) and not torch.allclose(again[3], out[3])
    with pytest.raises(ValueError, match="24-wide"):
        projector(torch.randn(10, 8))

    # A summary trained on the last layer, widened to read two more: the same token at first.
    narrow = LlasoProjector("mlp2x_gelu", encoder_dim=8, llm_dim=16, stack_factor=4, summary_token=True)
    state = narrow.state_dict()
    state["summary.0.weight"] = widen_summary_input(state["summary.0.weight"], 8, 2)
    projector.load_state_dict(state)
    assert torch.allclose(projector(frames), narrow(frames[:, :8]), atol=1e-6)
    with pytest.raises(ValueError, match="summary weight"):
        widen_summary_input(state["summary.0.weight"], 8, 2)
    with pytest.raises(ValueError, match="summary_layers"):
        LlasoConfig(summary_layers=[1])


def test_model_with_summary_layers_runs_and_reloads(tmp_path):
    torch.manual_seed(0)
    config = tiny_config(summary_token=True, summary_layers=[0, 1], stack_factor=4)
    wide = LlasoForConditionalGeneration(config).eval()
    frames = wide.encode_audio(torch.randn(1, 80, 80))
    assert frames[0].shape == (40, 3 * 32)
    ids = torch.tensor([[1] + [AUDIO] * 11 + [2]])  # 40 frames / 4 + the summary token
    with torch.no_grad():
        logits = wide(input_ids=ids, encoder_outputs=frames).logits
    wide.save_pretrained(tmp_path, safe_serialization=True)
    loaded = LlasoForConditionalGeneration.from_pretrained(tmp_path).eval()
    assert loaded.summary_layers == [0, 1]
    with torch.no_grad():
        again = loaded(input_ids=ids, encoder_outputs=frames).logits
    assert torch.allclose(again, logits, atol=1e-5)


def test_composed_model_with_summary_token_counts_saves_and_reloads(whisper_tiny_dir, smollm2_dir, tmp_path):
    import numpy as np

    from llaso.checkpoints.compose import compose_from_base
    from llaso.processing.processor import LlasoProcessor

    model, processor = compose_from_base(whisper_tiny_dir, smollm2_dir, stack_factor=8, summary_token=True)
    clip = np.random.default_rng(0).normal(0, 0.1, 16000 * 2).astype(np.float32)
    messages = [{"role": "user", "content": [{"type": "audio", "audio": clip}, {"type": "text", "text": "Who?"}]}]
    item = processor.encode(messages, add_generation_prompt=True)
    plain = compose_from_base(whisper_tiny_dir, smollm2_dir, stack_factor=8)[1].encode(messages, add_generation_prompt=True)
    assert item.audio_token_counts == [plain.audio_token_counts[0] + 1]
    batch = processor.collate([item])
    with torch.no_grad():  # the placeholder count and the projector's output agree, or this raises
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
              input_features=batch["input_features"], feature_attention_mask=batch["feature_attention_mask"])

    model.save_pretrained(tmp_path, safe_serialization=True)
    processor.save_pretrained(tmp_path)
    loaded = LlasoForConditionalGeneration.from_pretrained(tmp_path)
    assert loaded.config.summary_token and loaded.multi_modal_projector.summary is not None
    assert torch.equal(loaded.multi_modal_projector.summary[0].weight, model.multi_modal_projector.summary[0].weight)
    assert LlasoProcessor.from_pretrained(tmp_path).encode(messages, add_generation_prompt=True).audio_token_counts \
        == item.audio_token_counts


def test_merge_places_audios_in_order_across_turns_and_rows():
    embeds = torch.zeros(2, 6, 3)
    ids = torch.tensor([[1, AUDIO, AUDIO, 2, AUDIO, 3], [AUDIO, 4, 5, 6, 7, 8]])
    audio = torch.arange(1, 5, dtype=torch.float32)[:, None].expand(4, 3)
    merged = merge_audio_embeddings(embeds, ids, audio, AUDIO)
    assert merged[0, 1, 0] == 1 and merged[0, 2, 0] == 2 and merged[0, 4, 0] == 3 and merged[1, 0, 0] == 4
    assert merged[0, 0].abs().sum() == 0


def test_merge_count_mismatch_is_an_error():
    ids = torch.tensor([[1, AUDIO, AUDIO, 2]])
    with pytest.raises(PlaceholderMismatchError, match="2 audio token slots but the audio gives 3"):
        merge_audio_embeddings(torch.zeros(1, 4, 3), ids, torch.zeros(3, 3), AUDIO)


def test_forward_with_audio_and_labels(model):
    features = torch.randn(2, 80, 64)  # two windows: 32 frames each -> 8 tokens each with k=4
    ids = torch.tensor([[1] + [AUDIO] * 8 + [2] + [AUDIO] * 8 + [3]])
    labels = ids.masked_fill(ids == AUDIO, -100)
    out = model(input_ids=ids, input_features=features, labels=labels)
    assert out.logits.shape == (1, 19, 100) and torch.isfinite(out.loss)
    with pytest.raises(PlaceholderMismatchError):
        model(input_ids=ids[:, :12], input_features=features)
    with pytest.raises(PlaceholderMismatchError, match="no audio was given"):
        model(input_ids=ids)


def test_save_and_load_roundtrip_is_one_safetensors_directory(model, tmp_path):
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert not list(tmp_path.glob("*.bin")) and not list(tmp_path.glob("*.pt"))
    loaded = LlasoForConditionalGeneration.from_pretrained(tmp_path).eval()
    assert loaded.config.stack_factor == 4 and loaded.config.audio_token_id == AUDIO
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name


def test_config_validates_and_knows_fidelity():
    assert tiny_config(encoder_mode="padded", stack_factor=1).fidelity
    assert not tiny_config().fidelity
    with pytest.raises(ValueError, match="encoder_mode"):
        tiny_config(encoder_mode="cropped")
    with pytest.raises(ValueError, match="disagrees with the audio config"):
        tiny_config(audio_encoder_type="wavlm")
    from transformers import BertConfig

    with pytest.raises(ValueError, match="no llaso audio encoder for 'bert'"):
        LlasoConfig(audio_config=BertConfig())
