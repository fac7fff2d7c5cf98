"""Held-out checks during training: decode a fixed set of test prompts with the inference
engine (the same code that serves users) and score them with the evaluation metrics.

A stage logs these against the step, so "when did it start listening" is a curve, not a
guess. With a CTC head, the head's own greedy transcript is scored too (it costs no LLM).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from llaso.atomic import atomic_path
from llaso.train.config import StageConfig
from llaso.train.dataset import default_audio_root, expand_files, select_evenly, task_and_layout


@dataclass
class EvalRecord:
    source: str
    task: str
    layout: str
    prompt: list[dict[str, Any]]
    reference: str
    file_labels: tuple[str, ...] = ()
    """Every reference of the records read from this record's file: the closed label set a
    handful of chosen clips may not show."""


def prepare_eval_records(cfg: StageConfig, processor: Any) -> list[EvalRecord]:
    """Up to `eval.num_samples` prompts from the eval files, spread over tasks and layouts."""
    from llaso.data.schema import iter_samples, prompt_and_reference

    records: list[EvalRecord] = []
    per_file = max(1, cfg.eval.num_samples)
    for path in expand_files(cfg.data.eval):
        root = Path(cfg.data.audio_root).resolve() if cfg.data.audio_root else default_audio_root(path)
        from_file: list[EvalRecord] = []
        for index, sample in enumerate(iter_samples(path)):
            task, layout = task_and_layout(path, sample)
            if task not in cfg.eval.tasks or index >= per_file * 20:
                break
            prompt, reference = prompt_and_reference(sample, root)
            from_file.append(EvalRecord(f"{path.name}[{index}]", task, layout, prompt, reference or ""))
        labels = tuple(sorted({r.reference for r in from_file}))
        records += [replace(r, file_labels=labels) for r in from_file]
    return select_evenly(records, cfg.eval.num_samples, by=lambda r: f"{r.task}/{r.layout}")


def task_metric(task: str) -> str:
    try:
        from llaso.data.tasks import get_task

        return get_task(task).metric
    except Exception:  # a task outside the registry: compare answers exactly
        return "accuracy"


def declared_labels(task: str) -> tuple[str, ...]:
    """The registry's closed label set for `task` (none for a task outside the registry)."""
    from llaso.data.tasks import UnknownTaskError, get_task

    try:
        return tuple(get_task(task).labels or ())
    except UnknownTaskError:
        return ()


def score(task: str, predictions: list[str], references: list[str],
          labels: tuple[str, ...] = ()) -> dict[str, float | None]:
    """Metrics of one task, named as the harness's reports name them (`llaso.eval.metrics`):
    a handful of held-out clips is scored with the corrected variants, which take the task's
    declared labels too (`labels`: valid answers besides the references)."""
    from llaso.eval import metrics

    kind = task_metric(task)
    if kind == "wer":
        return {"wer_normalized": metrics.word_error_rate_normalized(predictions, references)}
    if kind == "mae":
        return {"mae_corrected": metrics.mean_absolute_error(predictions, references)}
    if kind == "accuracy":
        # Six clips may all carry one label; without the declared ones every other valid
        # answer would count as abstaining.
        labels = metrics.label_set(references, (*declared_labels(task), *labels))
        return {
            "accuracy_strict": metrics.closed_set_accuracy(predictions, references, labels),
            "abstention_rate_strict": metrics.abstention_rate(predictions, references, labels),
        }
    return {"exact_match": metrics.exact_match(predictions, references)}


@torch.no_grad()
def evaluate(
    model: Any,
    processor: Any,
    records: list[EvalRecord],
    cfg: StageConfig,
    ctc_head: Any = None,
    out_path: Path | None = None,
    batch_size: int = 8,
) -> dict[str, Any]:
    """Greedy answers for `records`; metrics per task (and per layout), plus CTC WER if any."""
    from llaso.generation.engine import Engine
    from llaso.generation.grounding import ground, is_grounded
    from llaso.generation.sampling import SamplingParams

    engine = Engine(model, processor)
    params = SamplingParams(max_new_tokens=cfg.eval.max_new_tokens, temperature=0.0)
    predictions: list[str] = []
    ctc_predictions: list[str | None] = []
    for start in range(0, len(records), batch_size):
        chunk = records[start : start + batch_size]
        encoded = [ground(model, processor, r.prompt, processor.encode(r.prompt, add_generation_prompt=True))
                   if is_grounded(model) else processor.encode(r.prompt, add_generation_prompt=True) for r in chunk]
        predictions += [g.text or "" for g in engine.generate(encoded, params)]
        for enc in encoded:
            ctc_predictions.append(_ctc_transcript(model, processor, ctc_head, enc) if ctc_head is not None else None)

    result: dict[str, Any] = {}
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        groups.setdefault(r.task, []).append(i)
        groups.setdefault(f"{r.task}/{r.layout}", []).append(i)
    for name, idx in groups.items():
        task = name.split("/")[0]
        labels = tuple(sorted({label for i in idx for label in records[i].file_labels}))
        predicted, references = [predictions[i] for i in idx], [records[i].reference for i in idx]
        result[name] = {**score(task, predicted, references, labels), "n": len(idx)}
    if ctc_head is not None:
        from llaso.eval.metrics import word_error_rate_normalized

        idx = [i for i, r in enumerate(records) if task_metric(r.task) == "wer" and ctc_predictions[i] is not None]
        if idx:
            result["ctc_wer_normalized"] = word_error_rate_normalized(
                [ctc_predictions[i] for i in idx], [records[i].reference for i in idx]
            )
    if out_path is not None:
        with atomic_path(out_path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            for r, p, c in zip(records, predictions, ctc_predictions):
                row = {k: v for k, v in asdict(r).items() if k not in ("prompt", "file_labels")}
                fh.write(json.dumps({**row, "prediction": p, "ctc": c}) + "\n")
    return result


def _ctc_transcript(model: Any, processor: Any, head: Any, encoded: Any) -> str | None:
    if not encoded.audio_features:
        return None
    batch = processor.collate([encoded], padding_side="right")
    device = next(model.parameters()).device
    frames = model.encode_audio(batch["input_features"].to(device), batch["feature_attention_mask"].to(device))
    projected = torch.cat(model.project_audio(frames), dim=0)
    ids = head.greedy_decode(projected, model.get_input_embeddings().weight)
    return processor.decode(ids).strip()
