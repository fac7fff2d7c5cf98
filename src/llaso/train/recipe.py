"""The training recipe: one loop for every stage, on one CPU or GPU or many through Accelerate.

Distribution, mixed precision, DeepSpeed ZeRO and FSDP all come from `accelerate` (launch
with `accelerate launch --config_file configs/accelerate/X.yaml -m llaso.cli.main train ...`);
this module only decides what to compute. A stage:
1. builds the model (`model_setup`), loads `init_from`, freezes all but the configured parts;
2. prepares the data once through the processor, caching frozen-encoder frames;
3. optimises LM loss (assistant tokens only) plus an optional CTC loss on the projector output;
4. checkpoints atomically every N steps (resumable exactly: weights, optimizer, RNG, data
   position), evaluates held-out samples with the inference engine, logs JSONL and a PNG;
5. writes the stage output: projector.safetensors (+ lora/, ctc_head.safetensors), training.json.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from llaso import atomic
from llaso.errors import LlasoError
from llaso.train.config import StageConfig
from llaso.train.lm_loss import lm_loss, next_token_mask
from llaso.train.precision import MIXED_PRECISION, detect_hardware, resolve_precision

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
LOG_FILE = "log.jsonl"


class TrainingModule(nn.Module):
    """The LLaSO model plus the optional CTC head, computing the stage's losses in forward
    (one module, so DDP/FSDP/DeepSpeed see every parameter that learns)."""

    def __init__(self, model: nn.Module, ctc_head: nn.Module | None, lm_weight: float, ctc_weight: float,
                 lm_average: str = "token") -> None:
        super().__init__()
        self.model = model
        self.ctc_head = ctc_head
        self.lm_weight = lm_weight
        self.ctc_weight = ctc_weight
        self.lm_average = lm_average

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor,
        windows_per_sample: list[int],
        ctc_targets: list[list[int] | None],
        encoder_outputs: list[torch.Tensor] | None = None,
        input_features: torch.Tensor | None = None,
        feature_attention_mask: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        model = self.model
        if encoder_outputs is None and input_features is not None:
            encoder_trainable = any(p.requires_grad for p in model.audio_tower.parameters())
            with contextlib.nullcontext() if encoder_trainable else torch.no_grad():
                encoder_outputs = model.encode_audio(input_features, feature_attention_mask)
        dtype = model.multi_modal_projector.mlp[0].weight.dtype
        projected = model.project_audio([f.to(dtype) for f in encoder_outputs or []])
        out: dict[str, torch.Tensor] = {}
        loss = None
        if self.lm_weight > 0:
            audio = torch.cat(projected, dim=0) if projected else None
            # Logits only where the next token is an answer token: [N, V], not [B, L, V].
            logits = model(input_ids=input_ids, attention_mask=attention_mask, audio_embeds=audio,
                           logits_to_keep=next_token_mask(labels)).logits
            lm_term = lm_loss(logits, labels, self.lm_average)
            out["lm_loss"] = lm_term.detach()
            loss = self.lm_weight * lm_term
        if self.ctc_head is not None and self.ctc_weight > 0:
            clips, targets, at = [], [], 0
            for n, target in zip(windows_per_sample, ctc_targets):
                if target and n:
                    clips.append(torch.cat(projected[at : at + n], dim=0))
                    targets.append(target)
                at += n
            embedding = model.get_input_embeddings().weight
            if clips:
                ctc = self.ctc_head.loss(clips, targets, embedding)
            else:  # keep the head in the graph so every process reduces the same parameters
                ctc = self.ctc_head.blank.sum() * 0.0 + sum(p.sum() for p in projected) * 0.0
            out["ctc_loss"] = ctc.detach()
            loss = self.ctc_weight * ctc if loss is None else loss + self.ctc_weight * ctc
        out["loss"] = loss
        return out


@dataclass
class LoopState:
    """What a checkpoint restores besides tensors: a pure-JSON record of the loop."""

    step: int = 0
    epoch: int = 0
    consumed: int = 0  # micro-batches of this process drawn in `epoch`
    samples: int = 0
    tokens: int = 0
    train_seconds: float = 0.0
    evals: list[dict[str, Any]] = field(default_factory=list)


def peak_memory_mb() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def trainable_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter that learns, plus the CTC head's vocabulary, by qualified name."""
    state = {n: p.detach() for n, p in module.named_parameters() if p.requires_grad}
    for n, b in module.named_buffers():
        if n.startswith("ctc_head."):
            state[n] = b
    return state


def load_trainable(module: nn.Module, tensors: dict[str, torch.Tensor], where: str) -> None:
    params = dict(module.named_parameters())
    params.update(dict(module.named_buffers()))
    unknown = [k for k in tensors if k not in params]
    if unknown:
        raise LlasoError(f"{where}: weights for parts this stage does not have: {unknown[:3]} (config changed?)")
    with torch.no_grad():
        for k, v in tensors.items():
            if params[k].shape != v.shape:
                raise LlasoError(f"{where}: {k} has shape {tuple(v.shape)}, the model {tuple(params[k].shape)}")
            params[k].copy_(v)


def build_optimizer(module: TrainingModule, cfg: StageConfig) -> torch.optim.Optimizer:
    lrs = {"projector": cfg.optim.projector_lr or cfg.optim.lr, "encoder": cfg.optim.encoder_lr or cfg.optim.lr,
           "other": cfg.optim.lr}
    groups: dict[str, list[nn.Parameter]] = {name: [] for name in lrs}
    for name, p in module.named_parameters():
        if p.requires_grad:
            if name.startswith(("model.multi_modal_projector.", "ctc_head.")):
                groups["projector"].append(p)
            elif name.startswith("model.audio_tower."):
                groups["encoder"].append(p)
            else:
                groups["other"].append(p)
    param_groups = [{"params": ps, "lr": lrs[name], "base_lr": lrs[name], "name": name}
                    for name, ps in groups.items() if ps]
    return torch.optim.AdamW(
        param_groups, lr=cfg.optim.lr, betas=cfg.optim.betas, eps=cfg.optim.eps, weight_decay=cfg.optim.weight_decay
    )


def _encode_batch_fn(model: nn.Module) -> Callable[[list[torch.Tensor]], list[torch.Tensor]]:
    """Mel windows of any lengths -> encoder frames, batched by the caller."""

    @torch.no_grad()
    def encode(windows: list[torch.Tensor]) -> list[torch.Tensor]:
        device = next(model.audio_tower.parameters()).device
        order = sorted(range(len(windows)), key=lambda i: windows[i].shape[-1])
        out: list[torch.Tensor | None] = [None] * len(windows)
        for start in range(0, len(order), 8):
            idx = order[start : start + 8]
            longest = max(windows[i].shape[-1] for i in idx)
            feats = torch.zeros((len(idx), windows[idx[0]].shape[0], longest))
            mask = torch.zeros((len(idx), longest), dtype=torch.long)
            for row, i in enumerate(idx):
                feats[row, :, : windows[i].shape[-1]] = windows[i]
                mask[row, : windows[i].shape[-1]] = 1
            frames = model.encode_audio(feats.to(device), mask.to(device))
            for row, i in enumerate(idx):
                out[i] = frames[row].cpu()
        return out  # type: ignore[return-value]

    return encode


def run_stage(cfg: StageConfig, resume: bool = False, progress: bool = True) -> Path:
    """Train one stage to `cfg.schedule.max_steps`; returns the stage output folder."""
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from accelerate.utils import set_seed

    from llaso.train import checkpoint as ckpt
    from llaso.train.ctc import CtcHead, ctc_vocabulary
    from llaso.train.dataset import LengthGroupedBatchSampler, LlasoTrainDataset, collate_items
    from llaso.train.encoder_cache import EncoderCache, encoder_fingerprint
    from llaso.train.evaluate import evaluate, prepare_eval_records
    from llaso.train.export import write_stage_output
    from llaso.train.model_setup import apply_trainable, build_model, count_parameters, load_stage_output
    from llaso.train.plots import plot_curves

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out_dir = cfg.output_path
    ckpt_dir = out_dir / CHECKPOINTS
    existing = ckpt.latest_checkpoint(ckpt_dir) if ckpt_dir.exists() else None
    if existing is not None and not resume:
        raise LlasoError(
            f"{out_dir} already holds {existing.name}: pass --resume to continue it, or choose another output_dir"
        )
    precision, warning = resolve_precision(cfg.precision, detect_hardware())
    if warning:
        log.warning(warning)
    kwargs = [DistributedDataParallelKwargs(find_unused_parameters=cfg.objective.ctc_weight > 0)]
    accelerator = Accelerator(mixed_precision=MIXED_PRECISION[precision], kwargs_handlers=kwargs,
                              cpu=not _has_accelerator())
    main = accelerator.is_main_process
    set_seed(cfg.seed)
    home = Path(cfg.model.home).expanduser() if cfg.model.home else None

    # -- model ---------------------------------------------------------------------------
    model, processor = build_model(cfg.model, home)
    init_info = None
    if cfg.model.init_from:
        init_info = load_stage_output(model, cfg.resolve(cfg.model.init_from), want_lora=cfg.trainable.llm == "lora",
                                      lora_section=cfg.lora)
    model.to(accelerator.device)

    # -- data (the main process prepares and fills the cache first) ----------------------
    cache = None
    cache_root = cfg.resolve(cfg.data.cache_dir) if cfg.data.cache_dir else out_dir / "cache"
    if cfg.data.cache_encoder and not cfg.trainable.encoder:
        encoding = {"mode": cfg.model.encoder_mode}
        if model.summary_layers:  # wider frames: a cache of their own
            encoding["extra_layers"] = model.summary_layers
        fp = encoder_fingerprint(model.audio_tower, encoding)
        cache = EncoderCache(cache_root / "encoder", fp)
    from llaso.train.dataset import PrepareOptions, prepare_records

    options = PrepareOptions(
        tasks=cfg.data.tasks, layouts=cfg.data.layouts, max_samples=cfg.data.max_samples,
        max_samples_by_task=cfg.data.max_samples_by_task,
        max_length=cfg.data.max_length, audio_root=cfg.data.audio_root,
        ctc_tasks=cfg.objective.ctc_tasks if cfg.objective.ctc_weight > 0 else [],
    )
    with accelerator.main_process_first():
        records = prepare_records(
            cfg.data.train, processor, options, cache, _encode_batch_fn(model), cache_root / "prepared",
            progress=progress and main,
        )
    eval_records = prepare_eval_records(cfg, processor) if (main and cfg.data.eval) else []
    dataset = LlasoTrainDataset(records, processor, cache)

    # -- trainable parts, CTC head, optimizer --------------------------------------------
    apply_trainable(model, cfg.trainable, cfg.lora)
    ctc_head = None
    if cfg.objective.ctc_weight > 0:
        vocab = ctc_vocabulary(r.ctc_target for r in records if r.ctc_target)
        if not vocab:
            raise LlasoError(f"objective.ctc_weight > 0 but no sample of tasks {cfg.objective.ctc_tasks} in the data")
        ctc_head = CtcHead(vocab, model.config.text_config.hidden_size).to(accelerator.device)
        if cfg.model.init_from:
            _maybe_load_ctc(ctc_head, cfg.resolve(cfg.model.init_from))
    module = TrainingModule(model, ctc_head, cfg.objective.lm_weight, cfg.objective.ctc_weight,
                            cfg.objective.lm_average)
    module.train()
    learn, total = count_parameters(module)
    optimizer = build_optimizer(module, cfg)
    sharded = _is_sharded(accelerator)
    if accelerator.state.deepspeed_plugin is not None:
        # No dataloader goes through prepare(): DeepSpeed needs the batch figures spelled out.
        ds = accelerator.state.deepspeed_plugin.deepspeed_config
        ds["train_micro_batch_size_per_gpu"] = cfg.batch.size
        ds["gradient_accumulation_steps"] = cfg.batch.grad_accum
    module, optimizer = accelerator.prepare(module, optimizer)
    raw: TrainingModule = accelerator.unwrap_model(module)

    state = LoopState()
    if existing is not None:
        if sharded:
            # ZeRO/FSDP shards live in each process: Accelerate's own state I/O restores them.
            accelerator.load_state(str(existing / "sharded"))
            loop = json.loads((existing / "state.json").read_text(encoding="utf-8"))
            loop.pop("rng", None)
        else:
            tensors, opt_state, loop = ckpt.load_checkpoint(existing)
            load_trainable(raw, tensors, str(existing))
            optimizer.load_state_dict(opt_state)
        state = LoopState(**{k: v for k, v in loop.items() if k in LoopState.__dataclass_fields__})
        if main:
            print(f"resuming {cfg.name} from {existing} (step {state.step})", flush=True)

    sampler = LengthGroupedBatchSampler(
        dataset.lengths(), cfg.batch.size, seed=cfg.seed, by_length=cfg.data.group_by_length
    )
    pad_id = processor.pad_token_id

    def epoch_loader(epoch: int, skip: int):
        sampler.set_epoch(epoch)
        loader = torch.utils.data.DataLoader(
            dataset, batch_sampler=sampler, collate_fn=lambda items: collate_items(items, pad_id),
            num_workers=cfg.data.num_workers,
            generator=torch.Generator().manual_seed(cfg.seed),  # keeps the global RNG untouched
        )
        loader = accelerator.prepare_data_loader(loader, device_placement=True)
        return accelerator.skip_first_batches(loader, skip) if skip else loader

    if main:
        out_dir.mkdir(parents=True, exist_ok=True)
        print(
            f"{cfg.name}: {len(records)} samples, {learn:,} of {total:,} parameters learn, "
            f"{accelerator.num_processes} process(es) on {accelerator.device}, cache={'on' if cache else 'off'}",
            flush=True,
        )
    log_path = out_dir / LOG_FILE
    accum = cfg.batch.grad_accum
    world = accelerator.num_processes
    last_ckpt_time = time.monotonic()
    window = {"samples": 0, "tokens": 0, "time": 0.0, "loss": 0.0, "lm": 0.0, "ctc": 0.0, "n": 0}
    from tqdm import tqdm

    bar = tqdm(total=cfg.schedule.max_steps, initial=state.step, desc=cfg.name, disable=not (progress and main))

    def save(final: bool = False) -> None:
        nonlocal last_ckpt_time
        accelerator.wait_for_everyone()
        if sharded:
            accelerator.save_state(str(ckpt_dir / f"checkpoint-{state.step:07d}" / "sharded"), safe_serialization=True)
            if main:
                ckpt.write_json_atomic(ckpt_dir / f"checkpoint-{state.step:07d}" / "state.json", state.__dict__)
                atomic.write_text_atomic(ckpt_dir / ckpt.LATEST, f"checkpoint-{state.step:07d}\n")
        elif main:
            ckpt.save_checkpoint(
                ckpt_dir, trainable_state(raw), optimizer.state_dict(),
                {**state.__dict__, "config_name": cfg.name}, keep_last=cfg.checkpoint.keep_last,
            )
        last_ckpt_time = time.monotonic()

    def run_eval() -> None:
        if not main or not eval_records:
            return
        raw.eval()
        t0 = time.perf_counter()
        result = evaluate(raw.model, processor, eval_records, cfg, raw.ctc_head, out_dir / "eval" / f"step-{state.step:07d}.jsonl")
        raw.train()
        entry = {"step": state.step, "eval": result, "eval_seconds": round(time.perf_counter() - t0, 2)}
        state.evals.append(entry)
        _append_jsonl(log_path, entry)
        bar.write(f"step {state.step}: {json.dumps(result)}")

    from llaso.train.schedule import lr_factor

    if state.step == 0 and main and cfg.eval.every:
        run_eval()
    while state.step < cfg.schedule.max_steps:
        iterator = iter(epoch_loader(state.epoch, state.consumed))
        exhausted = False
        while state.step < cfg.schedule.max_steps and not exhausted:
            t0 = time.perf_counter()
            micro = []
            for _ in range(accum):
                try:
                    micro.append(next(iterator))
                except StopIteration:
                    exhausted = True
                    break
            if not micro:
                break
            for i, batch in enumerate(micro):
                sync = contextlib.nullcontext() if i == len(micro) - 1 else accelerator.no_sync(module)
                with sync, accelerator.autocast():
                    out = module(**batch)
                    accelerator.backward(out["loss"] / len(micro))
                window["loss"] += float(out["loss"].detach()) / len(micro)
                window["lm"] += float(out.get("lm_loss", torch.zeros(())) ) / len(micro)
                window["ctc"] += float(out.get("ctc_loss", torch.zeros(()))) / len(micro)
                window["samples"] += int(batch["input_ids"].shape[0]) * world
                window["tokens"] += int(batch["attention_mask"].sum()) * world
            factor = lr_factor(state.step, cfg.schedule)
            for group in optimizer.param_groups:
                group["lr"] = group["base_lr"] * factor
            if cfg.optim.max_grad_norm:
                accelerator.clip_grad_norm_(module.parameters(), cfg.optim.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            state.step += 1
            state.consumed += len(micro)
            elapsed = time.perf_counter() - t0
            state.train_seconds += elapsed
            window["time"] += elapsed
            window["n"] += 1
            bar.update(1)
            if main and (state.step % cfg.log.every == 0 or state.step == cfg.schedule.max_steps):
                n = window["n"]
                entry = {
                    "step": state.step, "epoch": state.epoch, "loss": round(window["loss"] / n, 5),
                    "lr": optimizer.param_groups[0]["lr"],
                    "samples_per_s": round(window["samples"] / window["time"], 3),
                    "tokens_per_s": round(window["tokens"] / window["time"], 1),
                    "train_seconds": round(state.train_seconds, 1), "peak_mem_mb": round(peak_memory_mb(), 1),
                }
                if cfg.objective.lm_weight > 0:
                    entry["lm_loss"] = round(window["lm"] / n, 5)
                if ctc_head is not None:
                    entry["ctc_loss"] = round(window["ctc"] / n, 5)
                _append_jsonl(log_path, entry)
                bar.set_postfix(loss=entry["loss"], sps=entry["samples_per_s"])
                window = dict.fromkeys(window, 0) | {"time": 0.0, "loss": 0.0, "lm": 0.0, "ctc": 0.0}
            state.samples += sum(int(b["input_ids"].shape[0]) for b in micro) * world
            state.tokens += sum(int(b["attention_mask"].sum()) for b in micro) * world
            due_time = cfg.checkpoint.every_minutes and time.monotonic() - last_ckpt_time > 60 * cfg.checkpoint.every_minutes
            if cfg.eval.every and state.step % cfg.eval.every == 0:
                run_eval()
            if state.step % cfg.checkpoint.every == 0 or due_time:
                save()
        if exhausted or not micro:
            state.epoch += 1
            state.consumed = 0
    bar.close()
    if not state.evals or state.evals[-1]["step"] != state.step:
        run_eval()
    save(final=True)
    if main:
        write_stage_output(
            raw, processor, cfg, out_dir,
            info={
                "steps": state.step, "epochs_started": state.epoch + 1, "samples_seen": state.samples,
                "tokens_seen": state.tokens, "train_seconds": round(state.train_seconds, 1),
                "peak_mem_mb": round(peak_memory_mb(), 1), "num_samples": len(records),
                "processes": world, "device": str(accelerator.device), "precision": precision,
                "init_from_loaded": init_info,
                "evals": state.evals,
            },
        )
        plot_curves(log_path, out_dir / "curves.png", title=cfg.name)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return out_dir


def _has_accelerator() -> bool:
    """A GPU (CUDA/ROCm), XPU or MPS device; without one, Accelerate must be told `cpu=True`
    to pick up a torchrun environment as multi-CPU (gloo)."""
    if torch.cuda.is_available():
        return True
    xpu = getattr(torch, "xpu", None)
    mps = getattr(torch.backends, "mps", None)
    return bool((xpu is not None and xpu.is_available()) or (mps is not None and mps.is_available()))


def _is_sharded(accelerator: Any) -> bool:
    from accelerate.utils import DistributedType

    return accelerator.distributed_type in (DistributedType.DEEPSPEED, DistributedType.FSDP)


def _maybe_load_ctc(head: nn.Module, folder: Path) -> None:
    from safetensors.torch import load_file

    from llaso.train.model_setup import CTC_FILE

    path = folder / CTC_FILE
    if not path.is_file():
        return
    state = load_file(str(path))
    if torch.equal(state.get("vocab_ids", torch.empty(0)).to(head.vocab_ids.device), head.vocab_ids):
        head.load_state_dict(state)


def _append_jsonl(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
