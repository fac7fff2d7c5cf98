"""One `load` for every format, and every option honoured by each (device, dtype, fidelity)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from llaso.checkpoints import LoadOptions, detect_format, load, save
from llaso.checkpoints.catalog import shipped_weights_dir
from llaso.errors import ModelNotFoundError

CLIP = np.zeros(2 * 16000, np.float32)  # 2 s


def _audio_tokens(processor) -> int:
    return processor.audio_token_count(2.0)


def _check_options(model, processor, padded_tokens: int) -> None:
    assert model.config.encoder_mode == processor.settings.encoder_mode == "padded"
    assert _audio_tokens(processor) == padded_tokens
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert {p.device.type for p in model.parameters()} == {"cpu"}


PADDED = LoadOptions(device="cpu", dtype="bfloat16", encoder_mode="padded")


@pytest.fixture(scope="module")
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module")
def tiny_tokens() -> tuple[int, int]:
    """llaso-tiny's audio tokens for 2 s: trimmed (its own) and padded to 30 s (k = 8, + summary)."""
    return -(-2 * 50 // 8) + 1, -(-1500 // 8) + 1


def test_catalog_name(quiet, tiny_tokens) -> None:
    assert detect_format("llaso-tiny") == ("catalog", None)
    model, processor = load("llaso-tiny", PADDED)
    _check_options(model, processor, tiny_tokens[1])


def test_llaso_folder(quiet, tiny, tmp_path: Path, tiny_tokens) -> None:
    save(tiny.model, tiny.processor, tmp_path / "saved")
    assert detect_format(tmp_path / "saved")[0] == "llaso"
    model, processor = load(tmp_path / "saved", PADDED)  # --fidelity used to be ignored here
    _check_options(model, processor, tiny_tokens[1])
    trimmed, trimmed_processor = load(tmp_path / "saved", LoadOptions(device="cpu"))
    assert _audio_tokens(trimmed_processor) == tiny_tokens[0]
    assert trimmed.language_model.peft_config  # the adapter stays apart


def test_stage_folder(quiet, tmp_path: Path, tiny_tokens) -> None:
    stage = tmp_path / "stage"
    shutil.copytree(shipped_weights_dir(), stage)
    assert detect_format(stage)[0] == "stage"
    model, processor = load(stage, PADDED)
    _check_options(model, processor, tiny_tokens[1])


def test_official_directory(quiet, official: dict) -> None:
    assert detect_format(official["src"])[0] == "official"
    model, processor = load(official["src"], PADDED)
    _check_options(model, processor, 1500)
    trimmed, trimmed_processor = load(official["src"], LoadOptions(device="cpu", encoder_mode="trimmed"))
    assert trimmed.config.encoder_mode == "trimmed" and _audio_tokens(trimmed_processor) == 100


def test_unknown_name_lists_what_would_load(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="llaso-tiny"):
        load(tmp_path / "nothing-here")
    with pytest.raises(Exception, match="encoder_mode"):
        LoadOptions(encoder_mode="sideways")
