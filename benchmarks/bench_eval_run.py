"""Run-mode throughput: samples/s answering LLaSO test files with llaso-tiny on this CPU,
at batch 1 and batch 8 (same samples, same greedy settings).

    .venv/bin/python benchmarks/bench_eval_run.py [--data data/llaso-mini/test] [--tasks ASR SGC]
        [--limit 8] [--max-new-tokens 32]

The time covers what `llaso eval run` does per sample: reading the test file, decoding
audio, the model (encoder + decoder), the journal and the prediction file; not loading
the model. If --data is absent, a split is made from the committed espeak test clip.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe_machine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "tests" / "fixtures" / "audio" / "hello_espeak.wav"


def fallback_split(root: Path, n: int) -> Path:
    """n ASR samples of the committed espeak clip, in the llaso-mini file layout."""
    text = CLIP.with_suffix(".txt").read_text().strip()
    records = [{"id": f"asr{i}", "voice": [str(CLIP)], "conversations": [
        {"from": "human", "value": "Transcribe the speech.<audio>"}, {"from": "gpt", "value": text}]}
        for i in range(n)]
    root.mkdir(parents=True, exist_ok=True)
    (root / "ASR_ta_test.json").write_text(json.dumps(records))
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "data" / "llaso-mini" / "test")
    parser.add_argument("--tasks", nargs="+", default=["ASR", "SGC"])
    parser.add_argument("--limit", type=int, default=8, help="samples per file")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()

    warnings.simplefilter("ignore")
    from llaso import Llaso
    from llaso.eval.run import RunConfig, model_backend, run

    print(f"machine: {describe_machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data if args.data.is_dir() else fallback_split(Path(tmp) / "data", args.limit * 2)
        print(f"data: {data} (tasks {' '.join(args.tasks)}, first {args.limit} samples per file, "
              f"max {args.max_new_tokens} new tokens, greedy)")
        start = time.perf_counter()
        model = Llaso.from_pretrained("llaso-tiny", device="cpu")
        print(f"model load: {time.perf_counter() - start:.1f} s (not counted below)")
        for batch_size in args.batch_sizes:
            config = RunConfig(data=data, out=Path(tmp) / f"out-b{batch_size}", model="llaso-tiny",
                               tasks=tuple(args.tasks), limit=args.limit, batch_size=batch_size,
                               max_new_tokens=args.max_new_tokens, progress=False)
            summary = run(config, backend=model_backend(config, model=model))
            print(f"batch {batch_size}: {summary.generated} samples in {summary.seconds:.1f} s = "
                  f"{summary.samples_per_second:.2f} samples/s ({summary.failed} failed)")


if __name__ == "__main__":
    main()
