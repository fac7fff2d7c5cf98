"""Checkpoints hold no pickle, restore optimizer and RNG exactly, and are replaced atomically."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from llaso.train import checkpoint as ckpt


def _trained_optimizer() -> tuple[torch.nn.Linear, torch.optim.AdamW]:
    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 3)
    opt = torch.optim.AdamW(layer.parameters(), lr=1e-2)
    for _ in range(3):
        layer(torch.randn(2, 4)).pow(2).sum().backward()
        opt.step()
        opt.zero_grad()
    return layer, opt


def test_optimizer_state_round_trips() -> None:
    _, opt = _trained_optimizer()
    tensors, meta = ckpt.flatten_optimizer_state(opt.state_dict())
    assert all(torch.is_tensor(t) for t in tensors.values())
    back = ckpt.unflatten_optimizer_state(tensors, meta)
    ref = opt.state_dict()
    for idx, entries in ref["state"].items():
        for name, value in entries.items():
            assert torch.equal(back["state"][idx][name], value)
    assert back["param_groups"] == ref["param_groups"]


def test_save_load_restores_rng_and_state(tmp_path: Path) -> None:
    layer, opt = _trained_optimizer()
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    ckpt.save_checkpoint(tmp_path, {"w": layer.weight}, opt.state_dict(), {"step": 3, "epoch": 1, "consumed": 2})
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(99)
    np.random.seed(99)
    random.seed(99)
    path = ckpt.latest_checkpoint(tmp_path)
    assert path is not None and path.name == "checkpoint-0000003"
    tensors, opt_state, state = ckpt.load_checkpoint(path)
    assert torch.equal(tensors["w"], layer.weight.detach())
    assert state["epoch"] == 1 and state["consumed"] == 2
    got = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1]) and got[2] == expected[2]
    layer2 = torch.nn.Linear(4, 3)
    opt2 = torch.optim.AdamW(layer2.parameters(), lr=1e-2)
    opt2.load_state_dict(opt_state)
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    # nothing in a checkpoint needs pickle
    assert {p.suffix for p in path.iterdir()} <= {".safetensors", ".json"}


def test_prune_keeps_last_and_ignores_partial_writes(tmp_path: Path) -> None:
    layer, opt = _trained_optimizer()
    for step in (1, 2, 3):
        ckpt.save_checkpoint(tmp_path, {"w": layer.weight}, opt.state_dict(), {"step": step}, keep_last=2)
    names = sorted(p.name for p in tmp_path.glob("checkpoint-*"))
    assert names == ["checkpoint-0000002", "checkpoint-0000003"]
    # a kill mid-write leaves a temp folder and possibly a stale pointer: the last complete one wins
    (tmp_path / ".checkpoint-0000004.123.tmp").mkdir()
    (tmp_path / "latest").write_text("checkpoint-0000004\n")
    assert ckpt.latest_checkpoint(tmp_path).name == "checkpoint-0000003"
