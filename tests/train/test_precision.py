"""`precision: auto` and the warning for emulated bf16."""

import pytest

from llaso.train.config import parse_config
from llaso.train.precision import Hardware, cpu_has_native_bf16, detect_hardware, resolve_precision

AVX2_CPU = Hardware(cuda=False, cuda_bf16=False, cpu_bf16=False)
BF16_CPU = Hardware(cuda=False, cuda_bf16=False, cpu_bf16=True)
AMPERE = Hardware(cuda=True, cuda_bf16=True, cpu_bf16=False)
TURING = Hardware(cuda=True, cuda_bf16=False, cpu_bf16=False)


def test_auto_takes_bf16_only_where_the_hardware_has_it():
    assert resolve_precision("auto", AVX2_CPU) == ("fp32", None)
    assert resolve_precision("auto", BF16_CPU) == ("bf16", None)
    assert resolve_precision("auto", AMPERE) == ("bf16", None)
    assert resolve_precision("auto", TURING) == ("fp16", None)


def test_explicit_choices_are_kept_and_emulated_ones_warned_about():
    precision, warning = resolve_precision("bf16", AVX2_CPU)
    assert precision == "bf16" and "emulated" in warning
    assert resolve_precision("bf16", BF16_CPU) == ("bf16", None)
    assert resolve_precision("fp16", AVX2_CPU)[1] is not None
    assert resolve_precision("fp32", AMPERE) == ("fp32", None)
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("int8", AVX2_CPU)


def test_this_machine_is_detected_and_auto_is_a_valid_config(tmp_path):
    hardware = detect_hardware()
    assert hardware.cpu_bf16 == cpu_has_native_bf16()
    assert resolve_precision("auto", hardware)[0] in ("fp32", "bf16", "fp16")
    config = {"name": "x", "output_dir": str(tmp_path), "data": {"train": ["a.json"]}, "precision": "auto"}
    assert parse_config(config).precision == "auto"
