"""Side-by-side comparison of systems: normalised scores, a table and a radar chart."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from llaso.atomic import write_json_atomic, write_text_atomic
from llaso.eval.metrics import get_metric
from llaso.eval.records import PredictionFileError
from llaso.eval.report import NORMALIZATION, format_value, radar_chart
from llaso.eval.stems import CATEGORIES, task_info, task_order


def load_results(path: Path, score: Callable[[Path], dict[str, Any]] | None = None) -> dict[str, Any]:
    """A system's results: a results.json file, a directory holding one, or (with `score`)
    a directory of prediction files scored on the spot."""
    import json

    candidate = path if path.is_file() else path / "results.json"
    if candidate.is_file():
        try:
            results = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PredictionFileError(f"{candidate}: not a readable results.json ({exc})") from exc
        if not isinstance(results, dict) or "tasks" not in results:
            raise PredictionFileError(f"{candidate}: not a llaso results.json (no 'tasks')")
        return results
    if score is None:
        raise PredictionFileError(f"{path}: no results.json (run `llaso eval score` on it first)")
    return score(path)


def normalized_score(value: float | None, best: float | None, higher_is_better: bool) -> float | None:
    """Ratio to the best system: value / best if higher is better, best / value if lower."""
    if value is None or best is None:
        return None
    if value == best:
        return 1.0
    if higher_is_better:
        return value / best if best > 0 else 0.0
    return best / value if value > 0 else 1.0


def compare(systems: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Normalised per-task scores for each system; overall = mean over the shared tasks."""
    names = _unique_names([s["system"] for s in systems])
    codes = [c for c in task_order() if any(c in s["tasks"] for s in systems)]
    tasks: dict[str, Any] = {}
    for code in codes:
        entries = [s["tasks"].get(code) for s in systems]
        metrics = {e["metric"] for e in entries if e}
        headline = task_info(code).metrics[0]
        metric = headline if headline in metrics else sorted(metrics)[0]
        values = {n: (e["value"] if e and e["metric"] == metric else None) for n, e in zip(names, entries)}
        higher = bool(get_metric(metric).higher_is_better)
        present = [v for v in values.values() if v is not None]
        best = (max(present) if higher else min(present)) if present else None
        tasks[code] = {
            "metric": metric,
            "higher_is_better": higher,
            "values": values,
            "normalized": {n: normalized_score(v, best, higher) for n, v in values.items()},
        }
    shared = [c for c in codes if all(v is not None for v in tasks[c]["normalized"].values())]
    overall = {n: _mean([tasks[c]["normalized"][n] for c in shared]) for n in names}
    categories = {
        n: {cat: _mean([tasks[c]["normalized"][n] for c in shared if task_info(c).category == cat])
            for cat in CATEGORIES}
        for n in names
    }
    return {
        "systems": names,
        "tasks": tasks,
        "shared_tasks": shared,
        "overall": overall,
        "by_category": categories,
        "normalization": NORMALIZATION,
    }


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _unique_names(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


def comparison_markdown(comparison: Mapping[str, Any]) -> str:
    names = comparison["systems"]
    lines = ["# LLaSO-Eval comparison", "", "| task | metric | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names)]
    for code, task in comparison["tasks"].items():
        cells = [
            f"{format_value(task['metric'], task['values'][n])} ({_fmt(task['normalized'][n])})" for n in names
        ]
        arrow = "↑" if task["higher_is_better"] else "↓"
        lines.append(f"| {code} | {task['metric']} {arrow} | " + " | ".join(cells) + " |")
    for category in CATEGORIES:
        cells = [_fmt(comparison["by_category"][n][category]) for n in names]
        lines.append(f"| **{category}** | normalised | " + " | ".join(cells) + " |")
    lines.append("| **overall** | normalised | " + " | ".join(_fmt(comparison["overall"][n]) for n in names) + " |")
    lines += ["", "Cells: metric value (normalised score). Overall and categories use the "
              f"{len(comparison['shared_tasks'])} tasks every system has.", "", comparison["normalization"], ""]
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def write_comparison(comparison: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """comparison.json, comparison.md and radar.png in `out_dir`."""
    normalized = {
        n: {c: t["normalized"][n] for c, t in comparison["tasks"].items() if t["normalized"][n] is not None}
        for n in comparison["systems"]
    }
    paths = [out_dir / "comparison.json", out_dir / "comparison.md", out_dir / "radar.png"]
    write_json_atomic(paths[0], dict(comparison))
    write_text_atomic(paths[1], comparison_markdown(comparison))
    radar_chart(normalized, paths[2])
    return paths
