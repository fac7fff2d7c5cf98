"""Stage folders of `llaso train` (and llaso-tiny's shipped weights, which are one)."""

import json
import shutil
import warnings

import pytest
import torch
from safetensors.torch import save_file

from llaso import Llaso, SamplingParams
from llaso.checkpoints.catalog import shipped_weights_dir
from llaso.checkpoints.stage_folder import is_stage_folder
from llaso.errors import LlasoError
from llaso.inference.api import user_message

GREEDY = SamplingParams(max_new_tokens=10)


def _load(path) -> Llaso:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Llaso.from_pretrained(str(path), device="cpu")


@pytest.fixture()
def stage_copy(tmp_path):
    """The shipped weights are a stage folder: a copy stands for a run a user has just trained."""
    folder = tmp_path / "stage2x"
    shutil.copytree(shipped_weights_dir(), folder)
    return folder


@pytest.mark.slow
def test_a_stage_output_loads_by_path_and_answers_as_the_shipped_model(tiny, stage_copy, speech_clip):
    assert is_stage_folder(stage_copy)
    ours = _load(stage_copy)
    assert ours.model.config.name_or_path == str(stage_copy)
    conversation = [user_message("Transcribe the audio.", str(speech_clip))]
    assert ours.chat(conversation, GREEDY) == tiny.chat(conversation, GREEDY)


def test_a_stage_output_with_a_full_llm_loads_its_weights(stage_copy):
    # A stage with `trainable.llm: full` writes language_model.safetensors; only tensors it
    # holds replace SmolLM2's (here one, to keep the test small).
    norm = torch.full((576,), 0.5)
    save_file({"model.norm.weight": norm}, str(stage_copy / "language_model.safetensors"))
    m = _load(stage_copy)
    assert torch.equal(m.model.language_model.get_base_model().model.norm.weight.detach(), norm)


def test_a_folder_naming_base_models_that_are_not_there_says_which(stage_copy):
    info = json.loads((stage_copy / "training.json").read_text())
    (stage_copy / "training.json").write_text(json.dumps({**info, "llm": "/models/llama-3.2-3b"}))
    with pytest.raises(LlasoError, match="llama-3.2-3b"):
        _load(stage_copy)


def test_a_tensor_the_encoder_lacks_is_a_clear_error(stage_copy):
    save_file({"layers.99.fc1.weight": torch.zeros(2, 2)}, str(stage_copy / "audio_tower.safetensors"))
    with pytest.raises(LlasoError, match="does not fit this model's encoder"):
        _load(stage_copy)
