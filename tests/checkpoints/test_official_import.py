"""Importing the official LLaSO-Base layout, on a tiny checkpoint written in that layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from llaso.checkpoints.official import (
    OFFICIAL_SYSTEM_PROMPT,
    OfficialCheckpointError,
    convert_llaso_base,
    load_official_as_llaso,
)
from llaso.data.schema import sample_to_messages
from llaso.processing.messages import flatten_messages

USER_HEADER = "<|start_header_id|>user<|end_header_id|>"
ASSISTANT_HEADER = "<|start_header_id|>assistant<|end_header_id|>\n\n"
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


def test_separate_audio_tower_directory(write_official, tmp_path: Path) -> None:
    official = write_official(tmp_path, tower_inside=False)
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


# The official conv_llama32_audio_v1_mmtag system prompt, verbatim (no space after "language.").
LITERAL_SYSTEM_PROMPT = (
    "A chat between a curious user and an artificial intelligence assistant. The assistant is able to understand "
    "the audio content that the user provides, and assist the user with a variety of tasks using natural language."
    "The audio content will be provided with the following format: <Audio>audio content</Audio>."
)
SYSTEM_BLOCK = f"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{LITERAL_SYSTEM_PROMPT}<|eot_id|>"


def test_system_prompt_is_the_official_literal() -> None:
    assert OFFICIAL_SYSTEM_PROMPT == LITERAL_SYSTEM_PROMPT


@pytest.mark.parametrize("layout, parts, expected_user", [
    ("t,a", [{"type": "text", "text": "Transcribe the audio."}, "AUDIO"],
     "Transcribe the audio.\n<Audio><audio_start><|audio|><audio_end></Audio>\n\n<|eot_id|>"),
    ("a,t", ["AUDIO", {"type": "text", "text": "The weather is fine."}],
     "<Audio><audio_start><|audio|><audio_end></Audio>\nThe weather is fine.<|eot_id|>"),
    ("a", [{"type": "text", "text": "Listen to the audio and respond accordingly."}, "AUDIO"],
     "Listen to the audio and respond accordingly.\n<Audio><audio_start><|audio|><audio_end></Audio>\n\n<|eot_id|>"),
])
def test_three_layouts_render_as_the_official_code(converted, clip_5s: Path, layout, parts, expected_user) -> None:
    """The full rendered prompt per layout, written out literally (not built from our constants)."""
    from llaso.inference.api import user_message

    _, _, processor = converted
    content = [{"type": "audio", "path": str(clip_5s)} if p == "AUDIO" else p for p in parts]
    text = next((p["text"] for p in parts if p != "AUDIO"), None)
    assert user_message(text, str(clip_5s), layout=layout)["content"] == content  # the API's order
    flat = flatten_messages([{"role": "user", "content": content}], processor.settings.audio_token)
    rendered = processor.render(flat.turns, add_generation_prompt=True)
    assert rendered == (f"{SYSTEM_BLOCK}<|start_header_id|>user<|end_header_id|>\n\n{expected_user}"
                        "<|start_header_id|>assistant<|end_header_id|>\n\n")


def test_fidelity_windows_follow_the_official_chunks(converted) -> None:
    """ceil(L / 480,001) windows, each kept to its first 30 s; past 20, an error saying what to do."""
    from llaso.errors import AudioError

    _, _, processor = converted
    assert len(processor.featurize(np.zeros(480_001, np.float32))) == 1  # ours used to make 2
    assert len(processor.featurize(np.zeros(480_002, np.float32))) == 2
    assert processor.audio_token_count(300.0) == 10 * 1500
    with pytest.raises(AudioError, match="long_audio='map_reduce'"):
        processor.featurize(np.zeros(20 * 480_001 + 1, np.float32))


def test_own_audio_tower_wins_over_the_flag(official: dict, write_official, tmp_path: Path) -> None:
    from llaso.checkpoints.official import AudioTowerIgnoredWarning

    other = write_official(tmp_path, tower_inside=False)  # a different, random tower folder
    with pytest.warns(AudioTowerIgnoredWarning):
        model, _ = load_official_as_llaso(official["src"], audio_tower_path=other["tower_dir"])
    for name, tensor in official["encoder"].state_dict().items():
        torch.testing.assert_close(model.state_dict()[f"audio_tower.{name}"], tensor, rtol=0, atol=0)


def test_an_import_with_the_old_system_prompt_says_how_to_reimport(converted, tmp_path: Path) -> None:
    import shutil

    from llaso.checkpoints import load
    from llaso.checkpoints.llaso_folder import IMPORT_RECORD, OutdatedImportWarning

    dst, _, _ = converted
    old = tmp_path / "old-import"
    shutil.copytree(dst, old)
    record = json.loads((old / IMPORT_RECORD).read_text())
    (old / IMPORT_RECORD).write_text(json.dumps({**record, "system_prompt": "You are a helpful assistant."}))
    with pytest.warns(OutdatedImportWarning, match="llaso convert llaso-base"):
        load(old)
