"""Score-mode throughput: seconds to score LLaSO-Base's 44 official prediction files.

    .venv/bin/python benchmarks/bench_eval_score.py [--repeats 5] [--path ../shared/llaso-official/LLaSO-Base]

Reported: median and best wall time for the whole set (reading, every metric, judge
scores from the released verdicts, report building), plus the slowest files.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe_machine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OFFICIAL = REPO / ".." / "shared" / "llaso-official" / "LLaSO-Base"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=OFFICIAL)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from llaso.eval.records import read_prediction_file
    from llaso.eval.score import ScoreOptions, score_path

    print(f"machine: {describe_machine()}")
    options = ScoreOptions(progress=False, use_judge=False)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        results = score_path(args.path, options)
        times.append(time.perf_counter() - start)
    overall = results["overall"]
    print(f"scored {overall['n_files']} files, {overall['n_samples']} samples, {overall['invalid']} invalid")
    print(f"whole set: median {statistics.median(times):.2f} s, best {min(times):.2f} s "
          f"({overall['n_samples'] / statistics.median(times):,.0f} samples/s) over {args.repeats} runs")

    per_file = []
    for path in sorted(args.path.glob("*.json")):
        start = time.perf_counter()
        score_path(path, ScoreOptions(progress=False, use_judge=False, verdict_dir=args.path / "gpt_result"))
        per_file.append((time.perf_counter() - start, path.name, len(read_prediction_file(path).records)))
    print("slowest files:")
    for seconds, name, n in sorted(per_file, reverse=True)[:3]:
        print(f"  {name}: {seconds:.2f} s ({n} samples)")


if __name__ == "__main__":
    main()
