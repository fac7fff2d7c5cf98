"""Training throughput of each llaso-tiny stage on this machine, with and without the
frozen-encoder cache, and peak memory; plus the wall time of finished recipe runs.

    python benchmarks/bench_train.py --steps 12 --samples 64 [--data-root data/llaso-mini] [--threads 1]
    python benchmarks/bench_train.py --runs runs/llaso-tiny      # only summarise finished stages

Each measurement runs the real stage config for a few optimizer steps into a temporary folder
(`--set` overrides: no evaluation, no intermediate checkpoints) and reads the recipe's own
log: samples/s and tokens/s are over training steps only (data preparation excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ("llaso-tiny-stage0-ctc", "llaso-tiny-stage1", "llaso-tiny-stage2")


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, {gpu}, torch {torch.__version__}"


def measure(stage: str, cache: bool, steps: int, samples: int, threads: int, data_root: Path, work: Path) -> dict:
    out = work / f"{stage}-{'cache' if cache else 'nocache'}"
    train_glob = "ASR_*_train.json" if stage != "llaso-tiny-stage2" else "*_train.json"
    overrides = [
        f"output_dir={out}", f"schedule.max_steps={steps}", "schedule.warmup_steps=0", "eval.every=0",
        "data.eval=[]", f"checkpoint.every={steps + 1}", f"data.max_samples={samples}",
        f"data.cache_encoder={'true' if cache else 'false'}", f"data.cache_dir={work / 'cache'}",
        f"data.train=[{data_root / 'train' / train_glob}]", f"threads={threads}", "model.init_from=null", "log.every=1",
    ]
    cmd = [sys.executable, "-m", "llaso.cli.main", "train", "--config", str(REPO / "configs" / "train" / f"{stage}.yaml"),
           "--no-progress"] + [a for o in overrides for a in ("--set", o)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{stage}: failed\n{done.stderr[-2000:]}")
    entries = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    train = [e for e in entries if "samples_per_s" in e][1:]  # the first step pays for warm-up
    info = json.loads((out / "training.json").read_text())
    return {
        "stage": stage,
        "cache": cache,
        "samples_per_s": round(sum(e["samples_per_s"] for e in train) / max(1, len(train)), 2),
        "tokens_per_s": round(sum(e["tokens_per_s"] for e in train) / max(1, len(train)), 1),
        "peak_mem_mb": info["peak_mem_mb"],
        "wall_s_incl_setup": round(wall, 1),
    }


def summarise_runs(runs: Path) -> list[dict]:
    rows = []
    for info_path in sorted(runs.glob("*/training.json")):
        info = json.loads(info_path.read_text())
        rows.append({
            "stage": info["name"], "steps": info["steps"], "train_seconds": info["train_seconds"],
            "samples_seen": info["samples_seen"], "peak_mem_mb": info["peak_mem_mb"],
        })
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--samples", type=int, default=64, help="samples per data file")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-root", type=Path, default=REPO / "data" / "llaso-mini")
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--cache", choices=("both", "on", "off"), default="both", help="encoder cache settings to measure")
    parser.add_argument("--runs", type=Path, help="summarise finished stage folders under this folder instead")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if args.runs:
        rows = summarise_runs(args.runs)
        for r in rows:
            print(json.dumps(r))
        total = sum(r["train_seconds"] for r in rows)
        print(f"recipe training time (sum of stages): {total / 60:.1f} min; peak memory {max((r['peak_mem_mb'] for r in rows), default=0):.0f} MB")
        return 0
    print(f"threads: {args.threads}, steps: {args.steps}, samples per file: {args.samples}")
    with tempfile.TemporaryDirectory() as tmp:
        for stage in args.stages.split(","):
            for cache in {"both": (True, False), "on": (True,), "off": (False,)}[args.cache]:
                row = measure(stage, cache, args.steps, args.samples, args.threads, args.data_root, Path(tmp))
                print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
