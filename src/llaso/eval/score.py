"""Score mode: metrics for a directory (or one file) of prediction files in the official layout.

Each file's task comes from its name (or its records' `task` field); the prediction is
read from `answer`, `prediction` or `result` (given, or detected per file); the reference
is `conversations[1].value`. Unusable records are counted and listed, never fatal.
Open-ended files are scored from existing judge verdicts (`gpt_result/<stem>.jsonl`),
then from the judge cache, then by asking the configured judge.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llaso.atomic import write_text_atomic
from llaso.eval.judge import Judge, JudgeConfig, JudgeItem, JudgeNotConfiguredError, not_configured_message
from llaso.eval.metrics import get_metric, label_set, variants_of
from llaso.eval.records import (
    PREDICTION_KEYS,
    LoadedFile,
    PredictionFileError,
    Problem,
    Sample,
    detect_prediction_key,
    extract_samples,
    majority_field,
    read_prediction_file,
)
from llaso.eval.report import build_results
from llaso.eval.stems import FileSpec, spec_for, task_labels

log = logging.getLogger(__name__)

JUDGE_METRICS = frozenset({"judge_score", "judged"})
# The strict closed-set metrics take the file's labels plus the task's declared ones; the
# official ones use the file's references alone, as the official scripts do.
LABEL_METRICS = frozenset({"accuracy_strict", "abstention_rate_strict"})
NUMBER_METRICS = frozenset({"mae", "parsed"})  # read numbers by the official age or pitch rules
PITCH_TASKS = frozenset({"PP"})
VERDICT_DIR = "gpt_result"
_NOT_PREDICTIONS = {"results.json", "run.json", "comparison.json"}


@dataclass(frozen=True)
class ScoreOptions:
    prediction_key: str | None = None  # None: detect per file among PREDICTION_KEYS
    system: str | None = None  # None: the directory's name
    judge: JudgeConfig | None = None
    use_judge: bool = True  # False: score open-ended files from existing verdicts only
    verdict_dir: Path | None = None  # None: <predictions>/gpt_result
    write_verdicts_to: Path | None = None  # also write gpt_result/<stem>.jsonl here
    progress: bool = True


@dataclass
class FileScore:
    spec: FileSpec
    path: Path
    prediction_key: str | None
    samples: list[Sample]
    problems: list[Problem]
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    verdicts: list[str | None] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Records in the file, usable or not."""
        return len(self.samples) + self.invalid

    @property
    def invalid(self) -> int:
        return len(self.problems)


def find_prediction_files(path: Path) -> list[Path]:
    """The `.json`/`.jsonl` prediction files at `path` (a file, or a directory's top level)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise PredictionFileError(f"{path}: no such file or directory")
    files = sorted(
        p for p in path.iterdir()
        if p.is_file() and p.suffix in (".json", ".jsonl") and p.name not in _NOT_PREDICTIONS
        and not p.name.startswith(".")
    )
    if not files:
        raise PredictionFileError(f"{path}: no .json or .jsonl prediction files")
    return files


def score_path(path: Path, options: ScoreOptions = ScoreOptions()) -> dict[str, Any]:
    """Score every prediction file at `path`; returns the results.json structure."""
    path = Path(path)
    if options.prediction_key is not None and options.prediction_key not in PREDICTION_KEYS:
        log.info("using non-standard prediction key %r", options.prediction_key)
    scores: list[FileScore] = []
    skipped: list[Problem] = []
    for file in find_prediction_files(path):
        loaded = read_prediction_file(file)
        spec = _file_spec(loaded)
        if spec is None:
            skipped.append(Problem(file.name, None, "no known task: unknown file name and no 'task' field"))
            continue
        scores.append(_prepare(loaded, spec, options.prediction_key))
    if not scores:
        raise PredictionFileError(f"{path}: none of the files belongs to a known task ({len(skipped)} skipped)")
    for score in scores:
        _score_closed_form(score)
    verdict_dir = options.verdict_dir or (path if path.is_dir() else path.parent) / VERDICT_DIR
    _score_open_ended(scores, verdict_dir, options)
    if options.write_verdicts_to is not None:
        write_verdict_files(scores, options.write_verdicts_to / VERDICT_DIR)
    system = options.system or (path.name if path.is_dir() else path.parent.name)
    keys = sorted({s.prediction_key for s in scores if s.prediction_key})
    return build_results(system, ",".join(keys), scores, skipped)


def _file_spec(loaded: LoadedFile) -> FileSpec | None:
    task = majority_field(loaded.records, "task")
    layout = majority_field(loaded.records, "layout")
    try:
        return spec_for(loaded.stem, task=task, layout=layout)
    except ValueError as exc:
        loaded.problems.append(Problem(loaded.path.name, None, str(exc)))
        return spec_for(loaded.stem)


def _prepare(loaded: LoadedFile, spec: FileSpec, prediction_key: str | None) -> FileScore:
    key = prediction_key or detect_prediction_key(loaded.records)
    if key is None:
        problems = loaded.problems + [
            Problem(loaded.path.name, pos, f"no prediction key (none of {', '.join(PREDICTION_KEYS)})")
            for pos in loaded.positions
        ]
        return FileScore(spec, loaded.path, None, [], problems)
    samples, problems = extract_samples(loaded, key)
    return FileScore(spec, loaded.path, key, samples, loaded.problems + problems)


def _score_closed_form(score: FileScore) -> None:
    """Each metric of the file's spec, each followed by its corrected variants."""
    predictions = [s.prediction for s in score.samples]
    references = [s.reference for s in score.samples]
    for base in score.spec.metrics:
        if base in JUDGE_METRICS:
            continue
        for name in (base, *variants_of(base)):
            options = _metric_options(name, score.spec, references)
            score.metrics[name] = get_metric(name).compute(predictions, references, **options)


def _metric_options(name: str, spec: FileSpec, references: list[str]) -> dict[str, Any]:
    if name in LABEL_METRICS:
        return {"labels": label_set(references, task_labels(spec.task))}
    if name in NUMBER_METRICS:
        return {"reader": "pitch" if spec.task in PITCH_TASKS else "age"}
    return {}


def _score_open_ended(scores: list[FileScore], verdict_dir: Path, options: ScoreOptions) -> None:
    open_ended = [s for s in scores if JUDGE_METRICS & set(s.spec.metrics)]
    pending: list[tuple[FileScore, int]] = []
    for score in open_ended:
        known = _read_verdicts(verdict_dir / f"{score.path.name.split('.json')[0]}.jsonl")
        score.verdicts = [known.get((s.position, s.prediction.strip())) for s in score.samples]
        pending += [(score, i) for i, v in enumerate(score.verdicts) if v is None]
    if pending and options.use_judge:
        if options.judge is None:
            files = sorted({score.path.name for score, _ in pending})
            raise JudgeNotConfiguredError(not_configured_message(files, len(pending)))
        _ask_judge(pending, options)
    for score in open_ended:
        score.metrics["judge_score"] = get_metric("judge_score").compute(_texts(score.verdicts), [])
        score.metrics["judged"] = get_metric("judged").compute(_texts(score.verdicts), [])


def _texts(verdicts: Sequence[str | None]) -> list[str]:
    return [v for v in verdicts if v is not None]


def _ask_judge(pending: list[tuple[FileScore, int]], options: ScoreOptions) -> None:
    # The official judge is shown both texts stripped of surrounding whitespace.
    items = [
        JudgeItem(score.spec.task, s.prompt, s.reference.strip(), s.prediction.strip())
        for score, i in pending
        for s in (score.samples[i],)
    ]
    with Judge(options.judge) as judge, _progress(len(items), "judging", options.progress) as bar:
        verdicts = judge.verdicts(items, progress=bar.update)
        log.info("judge: %d requests, %d cached, %d retries", judge.stats.requests, judge.stats.cached, judge.stats.retries)
    for (score, i), verdict in zip(pending, verdicts):
        score.verdicts[i] = verdict


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="answer", disable=not enabled, dynamic_ncols=True)


def _read_verdicts(path: Path) -> dict[tuple[int, str], str]:
    """Verdict records by (position, predicted text stripped of surrounding whitespace, as the
    official judge script stores it); stale or broken ones are ignored."""
    if not path.is_file():
        return {}
    verdicts: dict[tuple[int, str], str] = {}
    for record in read_prediction_file(path).records:
        position, predicted, text = record.get("index"), record.get("predicted"), record.get("evaluation")
        if isinstance(position, int) and isinstance(predicted, str) and isinstance(text, str):
            verdicts[(position, predicted.strip())] = text
    return verdicts


def write_verdict_files(scores: list[FileScore], directory: Path) -> None:
    """The verdicts in the official `gpt_result/<stem>.jsonl` shape, so others can reuse them."""
    for score in scores:
        if not score.verdicts:
            continue
        lines = [
            json.dumps({"file": score.path.name, "index": s.position, "predicted": s.prediction.strip(),
                        "reference": s.reference.strip(), "evaluation": v}, ensure_ascii=False)
            for s, v in zip(score.samples, score.verdicts) if v is not None
        ]
        stem = score.path.name.split(".json")[0]
        write_text_atomic(directory / f"{stem}.jsonl", "".join(line + "\n" for line in lines))
