"""Which metrics each LLaSO-Eval test file is scored with.

The task and layout of a file come from its name (`llaso.data.file_names`, the one parser of
file names) or its records' own fields; task codes, names and categories come from the one task
registry, `llaso.data.tasks`, so a task registered there is scored here too.
"""

from __future__ import annotations

from dataclasses import dataclass

from llaso.data.file_names import task_layout_from_name
from llaso.data.layout import Layout

CATEGORIES = ("linguistic", "semantic", "paralinguistic")


@dataclass(frozen=True)
class TaskInfo:
    """A task as evaluation sees it: the metrics its files report, headline first."""

    code: str
    name: str
    category: str
    metrics: tuple[str, ...]


_CLOSED = ("accuracy", "abstention_rate")
_JUDGE = ("judge_score", "judged")
_NUMERIC = ("mae", "parsed")
_PRONUNCIATION = ("pronunciation_accuracy", "pronunciation_prosodic", "pronunciation_fluency", "pronunciation_parsed")
# The task registry's metric kind -> the metrics a file of that kind reports.
_METRICS_OF_KIND = {
    "wer": ("wer", "cer", "wer_normalized", "cer_normalized"),
    "per": ("per",),
    "accuracy": _CLOSED,
    "mae": _NUMERIC,
    "judge": _JUDGE,
}


def task_info(code: str) -> TaskInfo:
    """Evaluation facts for a registered task (llaso.data.tasks is the one task registry).

    Judged tasks with a closed label set (speech commands, intents) also report accuracy,
    AQA reports exact match, and sentence-level pronunciation scoring the score agreement.
    """
    from llaso.data.tasks import get_task

    task = get_task(code)
    metrics = _METRICS_OF_KIND[task.metric]
    if task.metric == "judge" and code in ("SCR", "IP"):
        metrics = metrics + ("accuracy",)
    if code == "AQA":  # short-answer QA (llaso-mini) is checkable without a judge
        metrics = metrics + ("exact_match",)
    if code == "PSSL":  # the official pronunciation script reads sentence-level scores
        metrics = metrics + _PRONUNCIATION
    return TaskInfo(task.code, task.name, task.category, metrics)


def task_labels(code: str) -> tuple[str, ...]:
    """The closed label set the task registry declares (empty where labels vary by corpus)."""
    from llaso.data.tasks import get_task

    return tuple(get_task(code).labels or ())


def known_task(code: str) -> bool:
    from llaso.data.tasks import default_registry

    return code in default_registry()


def task_order() -> list[str]:
    """Task codes in the registry's listing order."""
    from llaso.data.tasks import all_tasks

    return [t.code for t in all_tasks()]


@dataclass(frozen=True)
class FileSpec:
    """How one test file is scored."""

    stem: str
    task: str
    layout: Layout
    metrics: tuple[str, ...]

    @property
    def primary_metric(self) -> str:
        return self.metrics[0]

    @property
    def category(self) -> str:
        return task_info(self.task).category


# Official stems whose metrics differ from their task's default.
_METRIC_OVERRIDES = {"vocalsound_age_prediction_test": _NUMERIC}


def spec_for(stem: str, task: str | None = None, layout: str | None = None) -> FileSpec | None:
    """The scoring spec of a file, from its stem; `task`/`layout` (from the records) win.

    Returns None when neither the stem nor the hints name a known task.
    """
    if task is not None and not known_task(task):
        raise ValueError(f"unknown task code {task!r}; known: {', '.join(task_order())}")
    found_task, found_layout = task_layout_from_name(stem, is_task=known_task)
    task = task or found_task
    if task is None:
        return None
    if task != found_task:
        found_layout = None  # the stem described another task; its layout says nothing
    chosen = Layout.parse(layout) if layout else (found_layout or Layout.TEXT_AUDIO)
    metrics = _METRIC_OVERRIDES.get(stem) or _metrics_from_stem(stem, task)
    return FileSpec(stem=stem, task=task, layout=chosen, metrics=metrics)


def _metrics_from_stem(stem: str, task: str) -> tuple[str, ...]:
    # Age as a number ("..._age_prediction") is scored by MAE, age groups by accuracy.
    if task == "AR" and "prediction" in stem.lower():
        return _NUMERIC
    return task_info(task).metrics

