"""The training recipe: one loop for every stage, on one CPU or GPU or many through Accelerate.

Distribution, mixed precision, DeepSpeed ZeRO and FSDP all come from `accelerate` (launch
with `accelerate launch --config_file configs/accelerate/X.yaml -m llaso.cli.main train ...`);
this module only decides what to compute. `StageRecipe` reads top-down:
1. `setup`: builds the model (`model_setup`), loads `init_from`, prepares the data once through
   the processor (caching frozen-encoder frames), freezes all but the configured parts, builds
   the optimiser, and restores a checkpoint when resuming;
2. `train`: optimises LM loss (assistant tokens only) plus an optional CTC loss on the projector
   output, logging JSONL; on schedule it `evaluate`s held-out samples with the decoding engine
   and `save_checkpoint`s atomically (resumable exactly: weights, optimizer, data position);
3. `finish`: writes the stage folder (`llaso.checkpoints.stage_folder`) and a PNG of the curves.
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
from llaso.processing.features import pad_features
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
            feats, mask = pad_features([windows[i] for i in idx])
            frames = model.encode_audio(feats.to(device), mask.to(device))
            for row, i in enumerate(idx):
                out[i] = frames[row].cpu()
        return out  # type: ignore[return-value]

    return encode


@dataclass
class _Window:
    """Figures of the steps since the last log line."""

    samples: int = 0
    tokens: int = 0
    time: float = 0.0
    loss: float = 0.0
    lm: float = 0.0
    ctc: float = 0.0
    n: int = 0


class StageRecipe:
    """One stage as torchtune shapes a recipe: `setup`, then `train` (which evaluates and saves
    checkpoints on its schedule), then `finish` (the stage folder). `run_stage` runs all three."""

    def __init__(self, cfg: StageConfig, progress: bool = True) -> None:
        self.cfg = cfg
        self.progress = progress
        self.out_dir = cfg.output_path
        self.ckpt_dir = self.out_dir / CHECKPOINTS
        self.log_path = self.out_dir / LOG_FILE
        self.state = LoopState()

    # -- setup ------------------------------------------------------------------------------
    def setup(self, resume: bool = False) -> None:
        """Model, data, trainable parts, optimiser and Accelerate; resume from a checkpoint."""
        from accelerate import Accelerator, DistributedDataParallelKwargs
        from accelerate.utils import set_seed

        from llaso.train import checkpoint as ckpt

        cfg = self.cfg
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        existing = ckpt.latest_checkpoint(self.ckpt_dir) if self.ckpt_dir.exists() else None
        if existing is not None and not resume:
            raise LlasoError(
                f"{self.out_dir} already holds {existing.name}: pass --resume to continue it, or choose another output_dir"
            )
        self.precision, warning = resolve_precision(cfg.precision, detect_hardware())
        if warning:
            log.warning(warning)
        kwargs = [DistributedDataParallelKwargs(find_unused_parameters=cfg.objective.ctc_weight > 0)]
        self.accelerator = Accelerator(mixed_precision=MIXED_PRECISION[self.precision], kwargs_handlers=kwargs,
                                       cpu=not _has_accelerator())
        self.main = self.accelerator.is_main_process
        set_seed(cfg.seed)
        self._setup_model()
        self._setup_data()
        self._setup_optimizer()
        if existing is not None:
            self._restore(existing)

    def _setup_model(self) -> None:
        from llaso.train.model_setup import build_model, load_stage_output

        cfg = self.cfg
        home = Path(cfg.model.home).expanduser() if cfg.model.home else None
        self.model, self.processor = build_model(cfg.model, home)
        self.init_info = None
        if cfg.model.init_from:
            self.init_info = load_stage_output(self.model, cfg.resolve(cfg.model.init_from),
                                               want_lora=cfg.trainable.llm == "lora", lora_section=cfg.lora)
        self.model.to(self.accelerator.device)

    def _setup_data(self) -> None:
        """The records, prepared once (the main process first fills the encoder cache)."""
        from llaso.train.dataset import LlasoTrainDataset, PrepareOptions, prepare_records
        from llaso.train.encoder_cache import EncoderCache, encoder_fingerprint
        from llaso.train.evaluate import prepare_eval_records

        cfg, model = self.cfg, self.model
        self.cache = None
        cache_root = cfg.resolve(cfg.data.cache_dir) if cfg.data.cache_dir else self.out_dir / "cache"
        if cfg.data.cache_encoder and not cfg.trainable.encoder:
            encoding: dict[str, Any] = {"mode": cfg.model.encoder_mode}
            if model.summary_layers:  # wider frames: a cache of their own
                encoding["extra_layers"] = model.summary_layers
            self.cache = EncoderCache(cache_root / "encoder", encoder_fingerprint(model.audio_tower, encoding))
        options = PrepareOptions(
            tasks=cfg.data.tasks, layouts=cfg.data.layouts, max_samples=cfg.data.max_samples,
            max_samples_by_task=cfg.data.max_samples_by_task,
            max_length=cfg.data.max_length, audio_root=cfg.data.audio_root,
            ctc_tasks=cfg.objective.ctc_tasks if cfg.objective.ctc_weight > 0 else [],
        )
        transcribe = None
        if getattr(model.config, "transcript_grounding", False):
            transcribe = TranscriptCache(model, self.processor, cache_root / "transcripts.json")
        with self.accelerator.main_process_first():
            self.records = prepare_records(
                cfg.data.train, self.processor, options, self.cache, _encode_batch_fn(model), cache_root / "prepared",
                progress=self.progress and self.main, transcribe=transcribe,
            )
            if transcribe is not None:
                transcribe.save()
        self.eval_records = prepare_eval_records(cfg, self.processor) if (self.main and cfg.data.eval) else []
        self.dataset = LlasoTrainDataset(self.records, self.processor, self.cache)

    def _setup_optimizer(self) -> None:
        """Trainable parts (LoRA added if asked), the CTC head, the optimiser, Accelerate."""
        from llaso.train.ctc import CtcHead, ctc_vocabulary
        from llaso.train.model_setup import apply_trainable, count_parameters

        cfg, accelerator = self.cfg, self.accelerator
        apply_trainable(self.model, cfg.trainable, cfg.lora)
        ctc_head = None
        if cfg.objective.ctc_weight > 0:
            vocab = ctc_vocabulary(r.ctc_target for r in self.records if r.ctc_target)
            if not vocab:
                raise LlasoError(f"objective.ctc_weight > 0 but no sample of tasks {cfg.objective.ctc_tasks} in the data")
            ctc_head = CtcHead(vocab, self.model.config.text_config.hidden_size).to(accelerator.device)
            if cfg.model.init_from:
                _maybe_load_ctc(ctc_head, cfg.resolve(cfg.model.init_from))
        module = TrainingModule(self.model, ctc_head, cfg.objective.lm_weight, cfg.objective.ctc_weight,
                                cfg.objective.lm_average)
        module.train()
        self.learn, self.total = count_parameters(module)
        optimizer = build_optimizer(module, cfg)
        self.sharded = _is_sharded(accelerator)
        if accelerator.state.deepspeed_plugin is not None:
            # No dataloader goes through prepare(): DeepSpeed needs the batch figures spelled out.
            ds = accelerator.state.deepspeed_plugin.deepspeed_config
            ds["train_micro_batch_size_per_gpu"] = cfg.batch.size
            ds["gradient_accumulation_steps"] = cfg.batch.grad_accum
        self.module, self.optimizer = accelerator.prepare(module, optimizer)
        self.raw: TrainingModule = accelerator.unwrap_model(self.module)

    def _restore(self, existing: Path) -> None:
        from llaso.train import checkpoint as ckpt

        if self.sharded:
            # ZeRO/FSDP shards live in each process: Accelerate's own state I/O restores them.
            self.accelerator.load_state(str(existing / "sharded"))
            loop = json.loads((existing / "state.json").read_text(encoding="utf-8"))
            loop.pop("rng", None)
        else:
            tensors, opt_state, loop = ckpt.load_checkpoint(existing)
            load_trainable(self.raw, tensors, str(existing))
            self.optimizer.load_state_dict(opt_state)
        self.state = LoopState(**{k: v for k, v in loop.items() if k in LoopState.__dataclass_fields__})
        if self.main:
            print(f"resuming {self.cfg.name} from {existing} (step {self.state.step})", flush=True)

    # -- the loop ---------------------------------------------------------------------------
    def _epoch_loader(self, epoch: int, skip: int) -> Any:
        from llaso.train.dataset import LengthGroupedBatchSampler, collate_items

        cfg = self.cfg
        sampler = LengthGroupedBatchSampler(self.dataset.lengths(), cfg.batch.size, seed=cfg.seed,
                                            by_length=cfg.data.group_by_length)
        sampler.set_epoch(epoch)
        pad_id = self.processor.pad_token_id
        loader = torch.utils.data.DataLoader(
            self.dataset, batch_sampler=sampler, collate_fn=lambda items: collate_items(items, pad_id),
            num_workers=cfg.data.num_workers,
            generator=torch.Generator().manual_seed(cfg.seed),  # keeps the global RNG untouched
        )
        loader = self.accelerator.prepare_data_loader(loader, device_placement=True)
        return self.accelerator.skip_first_batches(loader, skip) if skip else loader

    def train(self) -> None:
        """Optimise to `schedule.max_steps`, evaluating, logging and checkpointing on schedule."""
        from tqdm import tqdm

        cfg, state = self.cfg, self.state
        if self.main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            print(
                f"{cfg.name}: {len(self.records)} samples, {self.learn:,} of {self.total:,} parameters learn, "
                f"{self.accelerator.num_processes} process(es) on {self.accelerator.device}, "
                f"cache={'on' if self.cache else 'off'}",
                flush=True,
            )
        self.bar = tqdm(total=cfg.schedule.max_steps, initial=state.step, desc=cfg.name,
                        disable=not (self.progress and self.main))
        self.last_ckpt_time = time.monotonic()
        self.window = _Window()
        if state.step == 0 and self.main and cfg.eval.every:
            self.evaluate()
        while state.step < cfg.schedule.max_steps:
            iterator = iter(self._epoch_loader(state.epoch, state.consumed))
            exhausted = False
            while state.step < cfg.schedule.max_steps and not exhausted:
                micro, exhausted = _next_micro_batches(iterator, cfg.batch.grad_accum)
                if not micro:
                    break
                self._step(micro)
                due_time = (cfg.checkpoint.every_minutes
                            and time.monotonic() - self.last_ckpt_time > 60 * cfg.checkpoint.every_minutes)
                if cfg.eval.every and state.step % cfg.eval.every == 0:
                    self.evaluate()
                if state.step % cfg.checkpoint.every == 0 or due_time:
                    self.save_checkpoint()
            if exhausted:
                state.epoch += 1
                state.consumed = 0
        self.bar.close()

    def _step(self, micro: list[dict[str, Any]]) -> None:
        """One optimiser step over `micro` accumulated micro-batches, then the log line if due."""
        from llaso.train.schedule import lr_factor

        cfg, state, window, accelerator = self.cfg, self.state, self.window, self.accelerator
        world = accelerator.num_processes
        t0 = time.perf_counter()
        for i, batch in enumerate(micro):
            sync = contextlib.nullcontext() if i == len(micro) - 1 else accelerator.no_sync(self.module)
            with sync, accelerator.autocast():
                out = self.module(**batch)
                accelerator.backward(out["loss"] / len(micro))
            window.loss += float(out["loss"].detach()) / len(micro)
            window.lm += float(out.get("lm_loss", torch.zeros(()))) / len(micro)
            window.ctc += float(out.get("ctc_loss", torch.zeros(()))) / len(micro)
            window.samples += int(batch["input_ids"].shape[0]) * world
            window.tokens += int(batch["attention_mask"].sum()) * world
        factor = lr_factor(state.step, cfg.schedule)
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * factor
        if cfg.optim.max_grad_norm:
            accelerator.clip_grad_norm_(self.module.parameters(), cfg.optim.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        state.step += 1
        state.consumed += len(micro)
        elapsed = time.perf_counter() - t0
        state.train_seconds += elapsed
        window.time += elapsed
        window.n += 1
        self.bar.update(1)
        state.samples += sum(int(b["input_ids"].shape[0]) for b in micro) * world
        state.tokens += sum(int(b["attention_mask"].sum()) for b in micro) * world
        if self.main and (state.step % cfg.log.every == 0 or state.step == cfg.schedule.max_steps):
            self._log_window()

    def _log_window(self) -> None:
        cfg, state, window = self.cfg, self.state, self.window
        n = window.n
        entry = {
            "step": state.step, "epoch": state.epoch, "loss": round(window.loss / n, 5),
            "lr": self.optimizer.param_groups[0]["lr"],
            "samples_per_s": round(window.samples / window.time, 3),
            "tokens_per_s": round(window.tokens / window.time, 1),
            "train_seconds": round(state.train_seconds, 1), "peak_mem_mb": round(peak_memory_mb(), 1),
        }
        if cfg.objective.lm_weight > 0:
            entry["lm_loss"] = round(window.lm / n, 5)
        if self.raw.ctc_head is not None:
            entry["ctc_loss"] = round(window.ctc / n, 5)
        _append_jsonl(self.log_path, entry)
        self.bar.set_postfix(loss=entry["loss"], sps=entry["samples_per_s"])
        self.window = _Window()

    # -- evaluate and save ------------------------------------------------------------------
    def evaluate(self) -> None:
        """Held-out answers through the decoding engine, logged against the step (main process)."""
        from llaso.train.evaluate import evaluate

        if not self.main or not self.eval_records:
            return
        raw, state = self.raw, self.state
        raw.eval()
        t0 = time.perf_counter()
        result = evaluate(raw.model, self.processor, self.eval_records, self.cfg, raw.ctc_head,
                          self.out_dir / "eval" / f"step-{state.step:07d}.jsonl")
        raw.train()
        entry = {"step": state.step, "eval": result, "eval_seconds": round(time.perf_counter() - t0, 2)}
        state.evals.append(entry)
        _append_jsonl(self.log_path, entry)
        self.bar.write(f"step {state.step}: {json.dumps(result)}")

    def save_checkpoint(self) -> None:
        """A resumable checkpoint: weights that learn, optimiser, loop state (atomically)."""
        from llaso.train import checkpoint as ckpt

        accelerator, state = self.accelerator, self.state
        accelerator.wait_for_everyone()
        name = f"checkpoint-{state.step:07d}"
        if self.sharded:
            accelerator.save_state(str(self.ckpt_dir / name / "sharded"), safe_serialization=True)
            if self.main:
                ckpt.write_json_atomic(self.ckpt_dir / name / "state.json", state.__dict__)
                atomic.write_text_atomic(self.ckpt_dir / ckpt.LATEST, f"{name}\n")
        elif self.main:
            ckpt.save_checkpoint(
                self.ckpt_dir, trainable_state(self.raw), self.optimizer.state_dict(),
                {**state.__dict__, "config_name": self.cfg.name}, keep_last=self.cfg.checkpoint.keep_last,
            )
        self.last_ckpt_time = time.monotonic()

    def finish(self) -> Path:
        """Evaluate if the last step was not, checkpoint, and write the stage folder and curves."""
        from llaso.train.export import write_stage_output
        from llaso.train.plots import plot_curves

        state = self.state
        if not state.evals or state.evals[-1]["step"] != state.step:
            self.evaluate()
        self.save_checkpoint()
        if self.main:
            write_stage_output(
                self.raw, self.processor, self.cfg, self.out_dir,
                info={
                    "steps": state.step, "epochs_started": state.epoch + 1, "samples_seen": state.samples,
                    "tokens_seen": state.tokens, "train_seconds": round(state.train_seconds, 1),
                    "peak_mem_mb": round(peak_memory_mb(), 1), "num_samples": len(self.records),
                    "processes": self.accelerator.num_processes, "device": str(self.accelerator.device),
                    "precision": self.precision, "init_from_loaded": self.init_info, "evals": state.evals,
                },
            )
            plot_curves(self.log_path, self.out_dir / "curves.png", title=self.cfg.name)
        self.accelerator.wait_for_everyone()
        self.accelerator.end_training()
        return self.out_dir


class TranscriptCache:
    """Transcripts of training clips by their audio paths, written by the model's own decoder
    (what it will see at inference), kept on disk so a second run does not decode again."""

    def __init__(self, model: Any, processor: Any, path: Path) -> None:
        self.model, self.processor, self.path = model, processor, path
        self.known: dict[str, list[str]] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        self.added = 0

    def __call__(self, key: str, encoded: Any) -> tuple[list[str], list[Any] | None]:
        """(transcripts, the encoder frames decoded to write them, or None when the transcripts
        were known): the frames go to the encoder cache, so a clip is encoded once."""
        from llaso.generation.grounding import frames_of, ground_texts

        frames = None
        if key not in self.known:
            frames = frames_of(self.model, encoded)
            self.known[key] = ground_texts(self.model, self.processor, encoded, frames)
            self.added += 1
            if self.added % 500 == 0:
                self.save()
        return self.known[key], frames

    def save(self) -> None:
        if self.added:
            atomic.write_text_atomic(self.path, json.dumps(self.known, ensure_ascii=False))


def run_stage(cfg: StageConfig, resume: bool = False, progress: bool = True) -> Path:
    """Train one stage to `cfg.schedule.max_steps`; returns the stage output folder."""
    recipe = StageRecipe(cfg, progress=progress)
    recipe.setup(resume=resume)
    recipe.train()
    return recipe.finish()


def _next_micro_batches(iterator: Any, accum: int) -> tuple[list[dict[str, Any]], bool]:
    """Up to `accum` micro-batches, and whether the epoch ran out while drawing them."""
    micro = []
    for _ in range(accum):
        try:
            micro.append(next(iterator))
        except StopIteration:
            return micro, True
    return micro, False


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
