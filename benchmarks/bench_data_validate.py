"""Validation and statistics throughput on a synthetic 100k-sample file (JSON array and
JSON Lines), with audio checks (10 distinct clips, checked once each) and without.

    .venv/bin/python benchmarks/bench_data_validate.py [--samples 100000]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe_machine  # noqa: E402


def make_corpus(folder: Path, samples: int) -> list[Path]:
    import soundfile as sf

    from llaso.data.schema import write_samples

    rng = np.random.default_rng(0)
    (folder / "audio").mkdir()
    for i in range(10):
        sf.write(folder / "audio" / f"{i}.wav", 0.1 * rng.standard_normal(16000 * 3), 16000)
    words = "the quick brown fox jumps over a lazy dog near river bank today".split()

    def records():
        for i in range(samples):
            text = " ".join(words[j] for j in rng.integers(0, len(words), 12))
            yield {"id": f"s{i}", "task": "ASR", "layout": "t,a",
                   "conversations": [{"from": "human", "value": "Transcribe the audio.<audio>"},
                                     {"from": "gpt", "value": text}],
                   "voice": [f"audio/{i % 10}.wav"], "tts": {"engine": "espeak-ng", "voice": "x"}}

    paths = [folder / "corpus.json", folder / "corpus.jsonl"]
    for path in paths:
        write_samples(path, records())
    return paths


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=100_000)
    args = parser.parse_args()

    from llaso.data.stats import corpus_stats
    from llaso.data.validate import ValidateOptions, validate_path

    print(f"machine: {describe_machine()}; load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_corpus(Path(tmp), args.samples)
        for path in paths:
            size = path.stat().st_size / 1e6
            for audio in (True, False):
                report, seconds = timed(lambda: validate_path(path, ValidateOptions(check_audio=audio)))
                assert report.ok and report.records == args.samples
                print(f"validate {path.suffix:6} {size:6.1f} MB, audio checks {'on ' if audio else 'off'}: "
                      f"{seconds:5.2f} s, {args.samples / seconds:9,.0f} samples/s, {size / seconds:5.1f} MB/s")
            stats, seconds = timed(lambda: corpus_stats(path))
            print(f"stats    {path.suffix:6} {size:6.1f} MB: {seconds:5.2f} s, "
                  f"{args.samples / seconds:9,.0f} samples/s")
        import tracemalloc

        tracemalloc.start()
        validate_path(paths[0], ValidateOptions(check_audio=False))
        traced = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        print(f"validate peak Python allocations on the {paths[0].stat().st_size / 1e6:.0f} MB array: "
              f"{traced:.1f} MB (streamed; ids kept for the duplicate check)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MB (includes torch, imported to describe the machine)")


if __name__ == "__main__":
    main()
