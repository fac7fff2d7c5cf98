"""Core figures on this machine: time to first token (default vs fidelity), encoder trimming,
decode speed at batch 1 and 8, load time, peak memory of a one-shot chat, Whisper RTF.

    .venv/bin/python benchmarks/bench_core.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe_machine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "src/llaso/demo/clips/reminder.wav"


def median_time(fn, repeats: int = 5) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def five_second_clip() -> np.ndarray:
    from llaso.audio import load_audio

    samples = load_audio(CLIP)
    return np.resize(samples, 5 * 16000).astype(np.float32)


def main() -> None:
    warnings.simplefilter("ignore")
    from llaso import Llaso, SamplingParams
    from llaso.checkpoints.catalog import shipped_weights_dir
    from llaso.checkpoints.stage_folder import load_stage_folder

    print(f"machine: {describe_machine()}")
    clip = five_second_clip()
    messages = [{"role": "user", "content": [{"type": "audio", "audio": clip},
                                             {"type": "text", "text": "What is the speaker saying?"}]}]
    one_token = SamplingParams(max_new_tokens=1)

    default = Llaso.from_pretrained("llaso-tiny", device="cpu")
    fidelity = Llaso(*load_stage_folder(shipped_weights_dir(), encoder_mode="padded", stack_factor=1))
    ttft_default = median_time(lambda: default.chat(messages, one_token))
    ttft_fidelity = median_time(lambda: fidelity.chat(messages, one_token))
    n_default = default.encode(messages).audio_token_counts
    n_fidelity = fidelity.encode(messages).audio_token_counts
    print(f"time to first token, 5 s clip + instruction: default {ttft_default * 1000:.0f} ms "
          f"({sum(n_default)} audio tokens) vs fidelity {ttft_fidelity * 1000:.0f} ms "
          f"({sum(n_fidelity)} audio tokens): {ttft_fidelity / ttft_default:.1f}x faster")

    encoder = default.model
    trimmed = default.processor.featurize(clip)[0][0][None]
    padded = fidelity.processor.featurize(clip)[0][0][None]
    with torch.inference_mode():
        t_trim = median_time(lambda: encoder.encode_audio(trimmed))
        t_pad = median_time(lambda: encoder.encode_audio(padded))
    print(f"Whisper tiny encoder, 5 s clip: trimmed {t_trim * 1000:.1f} ms vs padded to 30 s "
          f"{t_pad * 1000:.1f} ms: {t_pad / t_trim:.1f}x faster")

    # Decode speed on the same architecture without the LoRA delta: the trained model answers
    # in a few tokens, the base LLM writes on. (What the adapter, kept apart, adds on audio
    # conversations: benchmarks/bench_adapter.py.)
    from llaso.checkpoints.base_weights import ensure_smollm2_135m_instruct, ensure_whisper_tiny_en
    from llaso.checkpoints.compose import compose_from_base

    writer = Llaso(*compose_from_base(ensure_whisper_tiny_en(), ensure_smollm2_135m_instruct(),
                                      stack_factor=default.model.config.stack_factor))
    decode = SamplingParams(max_new_tokens=64)
    text_prompt = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]
    for batch in (1, 8):
        encoded = [writer.encode(text_prompt if i % 2 else messages) for i in range(batch)]
        writer.engine.generate(encoded, SamplingParams(max_new_tokens=4))
        start = time.perf_counter()
        results = writer.engine.generate(encoded, decode)
        elapsed = time.perf_counter() - start
        tokens = sum(r.num_tokens for r in results)
        print(f"decode, batch {batch}: {tokens / elapsed:.1f} tokens/s ({tokens} tokens in {elapsed:.2f} s)")

    load = subprocess.run([sys.executable, "-c", (
        "import time, warnings; warnings.simplefilter('ignore'); t0 = time.perf_counter(); "
        "from llaso import Llaso; t1 = time.perf_counter(); Llaso.from_pretrained('llaso-tiny', device='cpu'); "
        "t2 = time.perf_counter(); print(f'{t1 - t0:.2f} {t2 - t1:.2f}')")], capture_output=True, text=True)
    import_s, load_s = map(float, load.stdout.split())
    print(f"load llaso-tiny (cached): {load_s:.2f} s (+ {import_s:.2f} s importing torch/transformers)")

    # A fresh parent, so that the peak is this one child's alone.
    probe = ("import resource, subprocess, sys; r = subprocess.run([sys.executable, '-m', 'llaso.cli.main', "
             f"'chat', '--audio', {str(CLIP)!r}, 'What is the speaker saying?', '--max-new-tokens', '32'], "
             "capture_output=True); print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    code, peak_kb = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.split()
    print(f"peak memory of a one-shot `llaso chat`: {int(peak_kb) / 1024:.0f} MB (exit {code})")

    from llaso.inference.transcribe import WhisperTranscriber

    transcriber = WhisperTranscriber.from_pretrained(device="cpu")
    clips = sorted((REPO / "src/llaso/demo/clips").glob("*.wav"))
    transcriber.transcribe(clips[:1])
    start = time.perf_counter()
    results = transcriber.transcribe(clips)
    elapsed = time.perf_counter() - start
    audio_s = sum(r.audio_seconds for r in results)
    print(f"llaso transcribe (whisper tiny.en, {len(clips)} clips, {audio_s:.1f} s of audio): "
          f"RTF {elapsed / audio_s:.3f}")


if __name__ == "__main__":
    main()
