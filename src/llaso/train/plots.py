"""Training curves from a stage's JSONL log: loss, learning rate, throughput, held-out scores."""

from __future__ import annotations

import json
from pathlib import Path

from llaso.atomic import atomic_path


def read_log(path: Path) -> tuple[list[dict], list[dict]]:
    """(train entries, eval entries), the last entry per step winning (a resumed run re-logs)."""
    train: dict[int, dict] = {}
    evals: dict[int, dict] = {}
    if not path.is_file():
        return [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        (evals if "eval" in entry else train)[entry["step"]] = entry
    return [train[k] for k in sorted(train)], [evals[k] for k in sorted(evals)]


def eval_series(evals: list[dict]) -> dict[str, list[tuple[int, float]]]:
    """Scalar held-out metrics per step: 'ASR wer_normalized', 'ctc_wer_normalized', 'SGC accuracy', ..."""
    series: dict[str, list[tuple[int, float]]] = {}
    for e in evals:
        for name, value in e["eval"].items():
            if isinstance(value, dict):
                if "/" in name:
                    continue
                for metric, v in value.items():
                    if metric != "n" and isinstance(v, (int, float)):
                        series.setdefault(f"{name} {metric}", []).append((e["step"], float(v)))
            elif isinstance(value, (int, float)):
                series.setdefault(name, []).append((e["step"], float(value)))
    return series


def plot_curves(log_path: Path, png_path: Path, title: str = "") -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train, evals = read_log(Path(log_path))
    if not train and not evals:
        return None
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    steps = [e["step"] for e in train]
    ax = axes[0][0]
    for key in ("loss", "lm_loss", "ctc_loss"):
        if train and key in train[-1]:
            ax.plot(steps, [e.get(key) for e in train], label=key)
    ax.set_title("training loss")
    ax.set_xlabel("step")
    ax.legend()
    axes[0][1].plot(steps, [e["lr"] for e in train])
    axes[0][1].set_title("learning rate")
    ax = axes[1][0]
    ax.plot(steps, [e["samples_per_s"] for e in train], label="samples/s")
    ax2 = ax.twinx()
    ax2.plot(steps, [e["tokens_per_s"] for e in train], color="tab:orange", label="tokens/s")
    ax.set_title("throughput (samples/s left, tokens/s right)")
    ax = axes[1][1]
    for name, points in eval_series(evals).items():
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
    ax.set_title("held-out")
    ax.set_xlabel("step")
    if evals:
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    png_path = Path(png_path)
    with atomic_path(png_path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return png_path
