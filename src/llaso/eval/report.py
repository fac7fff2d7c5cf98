"""Results in one schema (results.json and `--json`), as Markdown, and as a radar chart.

Schema:
  {"system", "prediction_key",
   "files": {STEM: {"task", "layout", "n", "invalid", "metrics": {NAME: value}}},
   "tasks": {CODE: {"metric", "value", "files": [STEM, ...]}},
   "overall": {"n_files", "n_samples", "invalid", "by_category", "by_layout"},
   "problems": [...], "metric_info": {...}, "normalization": str}
Rates and accuracy are fractions in [0, 1]. A task's value is the mean over its files of
the task's headline metric.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llaso.atomic import write_json_atomic, write_text_atomic
from llaso.data.layout import Layout
from llaso.eval.metrics import get_metric
from llaso.eval.stems import CATEGORIES, task_info, task_order

if TYPE_CHECKING:
    from llaso.eval.records import Problem
    from llaso.eval.score import FileScore

SCHEMA_VERSION = 1
MAX_LISTED_PROBLEMS = 200
NORMALIZATION = (
    "Normalised score: for each task, a system's headline metric divided by the best system's "
    "(higher-is-better metrics: value / best; lower-is-better: best / value), so the best "
    "system scores 1.0 on every task it leads; overall = mean over the tasks every compared "
    "system has. It depends on which systems are compared, and with one system every task is 1.0."
)


def build_results(
    system: str, prediction_key: str, scores: Sequence[FileScore], skipped: Sequence[Problem] = ()
) -> dict[str, Any]:
    files = {
        s.spec.stem: {
            "task": s.spec.task,
            "layout": s.spec.layout.value,
            "n": s.n,
            "invalid": s.invalid,
            "metrics": dict(s.metrics),
        }
        for s in sorted(scores, key=lambda s: (s.spec.task, s.spec.stem))
    }
    tasks = aggregate_tasks(files)
    problems = [p.as_dict() for s in scores for p in s.problems] + [p.as_dict() for p in skipped]
    return {
        "schema_version": SCHEMA_VERSION,
        "system": system,
        "prediction_key": prediction_key,
        "files": files,
        "tasks": tasks,
        "overall": {
            "n_files": len(files),
            "n_samples": sum(f["n"] for f in files.values()),
            "invalid": sum(f["invalid"] for f in files.values()),
            "skipped_files": [p.file for p in skipped],
            "by_category": by_category(tasks),
            "by_layout": by_layout(files),
        },
        "problems": problems[:MAX_LISTED_PROBLEMS],
        "problems_total": len(problems),
        "metric_info": {
            name: {"higher_is_better": get_metric(name).higher_is_better,
                   "description": get_metric(name).description}
            for name in sorted({m for f in files.values() for m in f["metrics"]})
        },
        "normalization": NORMALIZATION,
    }


def _mean(values: Sequence[float | int | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def aggregate_tasks(files: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per task: the headline metric averaged over the files scored by it."""
    stems_by_task: dict[str, list[str]] = defaultdict(list)
    for stem, info in files.items():
        stems_by_task[info["task"]].append(stem)
    tasks: dict[str, dict[str, Any]] = {}
    for code in sorted(stems_by_task, key=_task_order):
        stems = sorted(stems_by_task[code])
        headline = task_info(code).metrics[0]
        scored = [s for s in stems if headline in files[s]["metrics"]]
        if not scored:  # e.g. only the age-in-years file of AR: use its own metric
            headline = next(iter(files[stems[0]]["metrics"]))
            scored = [s for s in stems if headline in files[s]["metrics"]]
        tasks[code] = {
            "metric": headline,
            "value": _mean([files[s]["metrics"][headline] for s in scored]),
            "files": scored,
        }
    return tasks


def _task_order(code: str) -> int:
    order = task_order()
    return order.index(code) if code in order else len(order)


def by_category(tasks: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Tasks grouped by category, with the mean of each headline metric over the category's tasks."""
    result: dict[str, dict[str, Any]] = {}
    for category in CATEGORIES:
        codes = [c for c in tasks if task_info(c).category == category]
        if not codes:
            continue
        metrics = sorted({tasks[c]["metric"] for c in codes})
        result[category] = {
            "tasks": codes,
            "mean": {m: _mean([tasks[c]["value"] for c in codes if tasks[c]["metric"] == m]) for m in metrics},
        }
    return result


def by_layout(files: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per modality layout, per task: the headline metric over that layout's files only."""
    result: dict[str, dict[str, Any]] = {}
    for layout in Layout:
        in_layout = {s: f for s, f in files.items() if f["layout"] == layout.value}
        if in_layout:
            result[layout.value] = aggregate_tasks(in_layout)
    return result


_PERCENT = ("accuracy", "abstention_rate", "pronunciation_accuracy", "pronunciation_prosodic", "pronunciation_fluency")
_COUNTS = ("parsed", "judged", "pronunciation_parsed")


def format_value(metric: str, value: float | int | None) -> str:
    if value is None:
        return "n/a"
    metric = _base_metric(metric)  # a corrected variant reads like its metric
    if metric in _PERCENT:
        return f"{100 * value:.2f} %"
    if metric in _COUNTS:
        return str(int(value))
    if metric in ("judge_score", "mae"):
        return f"{value:.3f}"
    return f"{value:.4f}"


def _base_metric(metric: str) -> str:
    try:
        return get_metric(metric).variant_of or metric
    except KeyError:  # a name from another tool's results
        return metric


def _direction(metric: str) -> str:
    better = get_metric(metric).higher_is_better
    return "" if better is None else (" ↑" if better else " ↓")


def to_markdown(results: Mapping[str, Any]) -> str:
    """The human-readable report: tasks, categories, layouts, files, problems."""
    lines = [f"# LLaSO-Eval: {results['system']}", ""]
    overall = results["overall"]
    lines += [
        f"{overall['n_files']} files, {overall['n_samples']} samples, {overall['invalid']} invalid "
        f"records (prediction key: `{results['prediction_key'] or 'none'}`).", "",
        "## Tasks", "", "| task | category | metric | value | files |", "|---|---|---|---|---|",
    ]
    for code, task in results["tasks"].items():
        rows = [(task["metric"], task["value"], task["files"])] + _other_headlines(results["files"], code, task)
        for metric, value, stems in rows:
            lines.append(
                f"| {code} ({task_info(code).name}) | {task_info(code).category} | {metric}{_direction(metric)} "
                f"| {format_value(metric, value)} | {len(stems)} |"
            )
    lines += ["", "## By category", "", "| category | tasks | mean of headline metric |", "|---|---|---|"]
    for category, info in overall["by_category"].items():
        means = ", ".join(f"{m} {format_value(m, v)}" for m, v in info["mean"].items())
        lines.append(f"| {category} | {', '.join(info['tasks'])} | {means} |")
    lines += ["", "## By modality layout", "", "| layout | task | metric | value | files |", "|---|---|---|---|---|"]
    for layout, tasks in overall["by_layout"].items():
        for code, task in tasks.items():
            lines.append(
                f"| ({layout}) {Layout.parse(layout).description} | {code} | {task['metric']} "
                f"| {format_value(task['metric'], task['value'])} | {len(task['files'])} |"
            )
    lines += ["", "## Files", "", "| file | task | layout | n | invalid | metrics |", "|---|---|---|---|---|---|"]
    for stem, info in results["files"].items():
        metrics = ", ".join(f"{m} {format_value(m, v)}" for m, v in info["metrics"].items())
        lines.append(f"| {stem} | {info['task']} | ({info['layout']}) | {info['n']} | {info['invalid']} | {metrics} |")
    lines += ["", "## Metrics", ""]
    for name, info in results["metric_info"].items():
        lines.append(f"- `{name}`{_direction(name)}: {info['description']}")
    if results["problems_total"]:
        lines += ["", f"## Problems ({results['problems_total']} records not scored)", ""]
        for problem in results["problems"][:50]:
            where = "" if problem["position"] is None else f" record {problem['position']}"
            lines.append(f"- {problem['file']}{where}: {problem['reason']}")
    lines += ["", results["normalization"], ""]
    return "\n".join(lines)


def _other_headlines(
    files: Mapping[str, Mapping[str, Any]], code: str, task: Mapping[str, Any]
) -> list[tuple[str, float | None, list[str]]]:
    """A task's files scored by another headline metric (AR's age in years, by MAE)."""
    rest: dict[str, list[str]] = defaultdict(list)
    for stem, info in files.items():
        if info["task"] == code and stem not in task["files"] and info["metrics"]:
            rest[next(iter(info["metrics"]))].append(stem)
    return [(m, _mean([files[s]["metrics"][m] for s in stems]), stems) for m, stems in rest.items()]


def write_reports(results: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """results.json and results.md in `out_dir`, each written atomically."""
    json_path, md_path = out_dir / "results.json", out_dir / "results.md"
    write_json_atomic(json_path, results)
    write_text_atomic(md_path, to_markdown(results))
    return [json_path, md_path]


def radar_chart(normalized: Mapping[str, Mapping[str, float]], path: Path, title: str = "") -> Path:
    """One polygon per system over the tasks; values are normalised scores in [0, 1]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    tasks = [c for c in task_order() if any(c in per_task for per_task in normalized.values())]
    if len(tasks) < 3:
        tasks += [""] * (3 - len(tasks))  # a radar needs three spokes
    angles = np.linspace(0, 2 * np.pi, len(tasks), endpoint=False).tolist()
    fig, ax = plt.subplots(figsize=(7, 7), subplot_kw={"polar": True})
    for system, per_task in normalized.items():
        values = [per_task.get(t) or 0.0 for t in tasks]
        ax.plot(angles + angles[:1], values + values[:1], linewidth=1.5, label=system)
        ax.fill(angles + angles[:1], values + values[:1], alpha=0.12)
    ax.set_xticks(angles)
    ax.set_xticklabels(tasks)
    ax.set_ylim(0, 1)
    ax.set_yticks([0.25, 0.5, 0.75, 1.0])
    ax.set_title(title or "LLaSO-Eval, normalised score per task (1.0 = best compared system)", pad=20)
    ax.legend(loc="upper right", bbox_to_anchor=(1.25, 1.1))
    fig.text(0.5, 0.01, "normalised = value / best (higher is better) or best / value (lower is better), per task",
             ha="center", fontsize=8)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    tmp = path.with_name(f".{path.name}.tmp.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path
