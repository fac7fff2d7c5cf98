"""Every shipped stage config parses; bad configs fail with the file and the field named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llaso.train.config import TrainConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "configs" / "train").glob("*.yaml"))
ACCELERATE = sorted((REPO / "configs" / "accelerate").glob("*.yaml"))


def test_configs_are_shipped() -> None:
    names = {p.stem for p in SHIPPED}
    assert {"llaso-tiny-stage1", "llaso-tiny-stage2", "llaso-base-stage1", "llaso-base-stage2"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_config_parses_and_heads_with_its_command(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.name and cfg.output_dir
    first_lines = path.read_text().splitlines()[:4]
    assert any(f"--config configs/train/{path.name}" in line for line in first_lines), "header must give the command"


def test_stage_chain_points_at_previous_output() -> None:
    s0, s1, s2 = (load_config(REPO / "configs" / "train" / f"llaso-tiny-{n}.yaml") for n in ("stage0-ctc", "stage1", "stage2"))
    assert s1.model.init_from == s0.output_dir and s2.model.init_from == s1.output_dir
    assert s0.objective.lm_weight == 0 and s0.trainable.llm == "frozen"  # CTC pre-alignment only
    assert s2.trainable.llm == "lora"
    s2b, s2c = (load_config(REPO / "configs" / "train" / f"llaso-tiny-{n}.yaml") for n in ("stage2b", "stage2c"))
    assert s2b.model.init_from == s2.output_dir and s2c.model.init_from == s2b.output_dir
    b1, b2 = (load_config(REPO / "configs" / "train" / f"llaso-base-stage{n}.yaml") for n in (1, 2))
    assert b1.trainable.llm == "frozen" and b2.trainable.llm == "full" and b2.model.init_from == b1.output_dir


@pytest.mark.parametrize("path", ACCELERATE, ids=lambda p: p.name)
def test_accelerate_configs_are_valid_yaml(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    assert data["distributed_type"] in {"MULTI_GPU", "MULTI_CPU", "DEEPSPEED", "FSDP"}
    assert "accelerate launch --config_file configs/accelerate/" in path.read_text()


def _minimal(**extra) -> dict:
    return {"name": "x", "output_dir": "out", "data": {"train": ["a.json"]}, **extra}


def test_unknown_key_names_the_source_and_field() -> None:
    with pytest.raises(TrainConfigError, match=r"my\.yaml: optim\.lrr"):
        parse_config(_minimal(optim={"lrr": 1}), source="my.yaml")


def test_nothing_trainable_is_rejected() -> None:
    with pytest.raises(TrainConfigError, match="nothing is trainable"):
        parse_config(_minimal(trainable={"projector": False, "llm": "frozen"}))


def test_ctc_only_stage_cannot_train_the_llm() -> None:
    with pytest.raises(TrainConfigError, match="CTC-only"):
        parse_config(_minimal(objective={"lm_weight": 0, "ctc_weight": 1}, trainable={"llm": "lora"}))


def test_composed_model_needs_both_parts() -> None:
    with pytest.raises(TrainConfigError, match="together"):
        parse_config(_minimal(model={"encoder": "whisper-tiny.en"}))
    cfg = parse_config(_minimal(model={"encoder": "a", "llm": "b"}))
    assert cfg.model.base is None


def test_overrides_set_nested_values(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_minimal()))
    cfg = load_config(path, ["schedule.max_steps=7", "trainable.llm=lora", "data.tasks=[ASR]"])
    assert cfg.schedule.max_steps == 7 and cfg.trainable.llm == "lora" and cfg.data.tasks == ["ASR"]
    with pytest.raises(TrainConfigError, match="KEY=VALUE"):
        load_config(path, ["schedule.max_steps"])


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(TrainConfigError, match="no such config"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(TrainConfigError, match="bad.yaml: not valid YAML"):
        load_config(bad)
