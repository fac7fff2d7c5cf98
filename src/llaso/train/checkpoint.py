"""Resumable training checkpoints without pickle, written atomically.

A checkpoint folder holds:
- `trainable.safetensors`: every parameter that learns (projector, LoRA, LLM, CTC head),
  under the names of the training module's `named_parameters()`;
- `optimizer.safetensors` + `optimizer.json`: the optimizer's tensors and its plain values;
- `rng.safetensors` + `state.json`: torch/numpy/python RNG states, the step, the data
  position (epoch, micro-batches consumed in it) and anything else the loop keeps.
It is written into a temporary sibling folder and renamed into place, so a kill mid-write
leaves the previous checkpoint intact; `latest` (a one-line file, also replaced atomically)
names the newest complete one.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from llaso import atomic

LATEST = "latest"


def write_json_atomic(path: Path, data: Any) -> None:
    atomic.write_json_atomic(path, data, sort_keys=True)


def save_tensors_atomic(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    with atomic.atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)


# -- optimizer state <-> (tensors, json) ----------------------------------------------------
def flatten_optimizer_state(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """torch optimizer state_dict -> tensors keyed `state.<param>.<name>` + a JSON remainder."""
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for idx, entries in state_dict["state"].items():
        for name, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"state.{idx}.{name}"] = value
            else:
                plain.setdefault(str(idx), {})[name] = value
    return tensors, {"param_groups": state_dict["param_groups"], "plain_state": plain}


def unflatten_optimizer_state(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, idx, name = key.split(".", 2)
        state.setdefault(int(idx), {})[name] = value
    for idx, entries in meta.get("plain_state", {}).items():
        state.setdefault(int(idx), {}).update(entries)
    return {"state": state, "param_groups": meta["param_groups"]}


# -- RNG ------------------------------------------------------------------------------------
def capture_rng() -> tuple[dict[str, torch.Tensor], dict]:
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda.{i}"] = s
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    tensors["numpy.keys"] = torch.from_numpy(np.asarray(keys, dtype=np.uint32).astype(np.int64))
    version, internal, gauss = random.getstate()
    plain = {
        "numpy": {"kind": kind, "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": version, "internal": list(internal), "gauss": gauss},
    }
    return tensors, plain


def restore_rng(tensors: dict[str, torch.Tensor], plain: dict) -> None:
    torch.set_rng_state(tensors["torch"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    n = plain["numpy"]
    keys = tensors["numpy.keys"].numpy().astype(np.uint32)
    np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["cached"]))
    p = plain["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss"]))


# -- whole checkpoints ---------------------------------------------------------------------
def save_checkpoint(
    folder: Path,
    trainable: dict[str, torch.Tensor],
    optimizer_state: dict,
    state: dict[str, Any],
    keep_last: int = 2,
) -> Path:
    """Write `folder/checkpoint-<step>` atomically, point `latest` at it, prune old ones."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"checkpoint-{int(state['step']):07d}"
    final = folder / name
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_file({k: v.detach().contiguous().cpu() for k, v in trainable.items()}, str(tmp / "trainable.safetensors"))
    opt_tensors, opt_meta = flatten_optimizer_state(optimizer_state)
    save_file({k: v.contiguous().cpu() for k, v in opt_tensors.items()}, str(tmp / "optimizer.safetensors"))
    (tmp / "optimizer.json").write_text(json.dumps(opt_meta), encoding="utf-8")
    rng_tensors, rng_plain = capture_rng()
    save_file(rng_tensors, str(tmp / "rng.safetensors"))
    (tmp / "state.json").write_text(json.dumps({**state, "rng": rng_plain}, indent=1), encoding="utf-8")
    _fsync_folder(tmp)
    if final.exists():  # the same step saved twice (e.g. a final save): replace it
        shutil.rmtree(final)
    os.replace(tmp, final)
    atomic.write_text_atomic(folder / LATEST, name + "\n")
    _prune(folder, keep_last, keep=name)
    return final


def _fsync_folder(folder: Path) -> None:
    for f in folder.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())


def _prune(folder: Path, keep_last: int, keep: str) -> None:
    done = sorted(p for p in folder.glob("checkpoint-*") if p.is_dir() and not p.name.startswith("."))
    for old in done[:-keep_last]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
    for stale in folder.glob(".checkpoint-*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint under `folder`, or None."""
    pointer = folder / LATEST
    if pointer.is_file():
        candidate = folder / pointer.read_text(encoding="utf-8").strip()
        if (candidate / "state.json").is_file():
            return candidate
    done = sorted(p for p in folder.glob("checkpoint-*") if (p / "state.json").is_file())
    return done[-1] if done else None


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict, dict[str, Any]]:
    """-> (trainable tensors, optimizer state_dict, loop state). Restores the RNG states."""
    trainable = load_file(str(path / "trainable.safetensors"))
    opt_meta = json.loads((path / "optimizer.json").read_text(encoding="utf-8"))
    optimizer_state = unflatten_optimizer_state(load_file(str(path / "optimizer.safetensors")), opt_meta)
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    restore_rng(load_file(str(path / "rng.safetensors")), state.pop("rng"))
    return trainable, optimizer_state, state
