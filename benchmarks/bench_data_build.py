"""llaso-mini build figures: wall time and clips/s at `small` scale (built here, now) and,
for `full`, the figures recorded in an existing build's manifest.

    .venv/bin/python benchmarks/bench_data_build.py [--workers 2] [--full-dir data/llaso-mini]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe_machine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--full-dir", default=str(REPO / "data" / "llaso-mini"))
    args = parser.parse_args()

    from llaso.data.build_mini import build_mini

    print(f"machine: {describe_machine()}; load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        manifest = build_mini(Path(tmp) / "mini", scale="small", seed=0, workers=args.workers,
                              progress=False)
        elapsed = time.perf_counter() - start
    print(f"small: {manifest['samples']} samples, {manifest['clips']} clips, "
          f"{manifest['hours'] * 3600:.0f} s of audio in {elapsed:.1f} s wall "
          f"({manifest['clips'] / elapsed:.1f} clips/s, {args.workers} workers, incl. start-up "
          f"and assembly)")
    full = Path(args.full_dir) / "manifest.json"
    if full.is_file():
        m = json.loads(full.read_text())
        total = m.get("build_total") or {"seconds": m["build_seconds_last_run"],
                                         "samples": m["samples_built_last_run"], "runs": 1}
        seconds, built = total["seconds"], total["samples"]
        print(f"full ({full.parent}): {m['samples']} samples, {m['clips']} clips, {m['hours']} h; "
              f"built in {seconds / 60:.1f} min over {total['runs']} run(s) "
              f"({built / max(seconds, 1e-9):.1f} samples/s, {m['clips'] / max(seconds, 1e-9):.1f} "
              f"clips/s; recorded by the build, not re-run here)")
    else:
        print(f"full: no build at {full.parent} (run `llaso data build-mini --scale full --out ...`)")


if __name__ == "__main__":
    main()
