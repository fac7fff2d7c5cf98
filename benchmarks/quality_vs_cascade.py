"""A speech-language model against the cascade of its own parts, and the transcript ceiling.

    python benchmarks/quality_vs_cascade.py --model llaso-tiny --limit 50

Three systems answer the same prompts:
- the LSLM (`--model`);
- the cascade `cascade:MODEL`: its own Whisper transcribes each audio, its LLM reads the text;
- the ceiling: its LLM given the reference transcript (what was really said) as text.
On the llaso-mini test split (held-out voices and texts; `--limit` samples per file) through the
LLaSO-Eval harness, plus: the demo clips (every answer checked), twelve everyday questions
spoken by held-out voices (pure audio), clips without speech or near-empty ones (an invented
answer counts against), ASR through the LSLM against its Whisper alone, and time to first
token of the LSLM against the cascade. Prints one table per part and the machine; writes
everything to `--out/results.json`.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from machine import describe_machine  # noqa: E402

CONTENT_TASKS = ("ASR", "AQA", "IP", "SCR", "EE")
VOICE_TASKS = ("SGC", "AC", "SV", "SRC", "SSC", "PP", "IC", "ISC", "VC")
NO_SPEECH_WORDS = ("no speech", "can't hear", "cannot hear", "can not hear", "didn't hear", "did not hear",
                   "no one speaking", "nobody speaking", "silence", "silent", "no words", "nothing was said",
                   "there is no", "no audio", "don't hear", "do not hear")


# ----------------------------------------------------------------------------- the harness part
def ceiling_files(data: Path, out: Path, tasks: tuple[str, ...], limit: int) -> Path:
    """Copies of the test files with each audio replaced by its reference words (text only)."""
    from llaso.data.schema import iter_samples, write_samples
    from llaso.train.teacher import text_version

    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(data.glob("*.json")):
        if path.name.split("_")[0] not in tasks:
            continue
        rows = []
        for sample in list(iter_samples(path))[:limit]:
            spoken = (sample.get("meta") or {}).get("text")
            if not spoken or len(sample.get("voice") or []) != 1:
                continue
            turns = [dict(t, value=text_version(t["value"], spoken)) if t["from"] == "human" else t
                     for t in sample["conversations"]]
            rows.append({**sample, "conversations": turns, "voice": []})
        if rows:
            write_samples(out / path.name, rows)
    return out


def run_harness(model, data: Path, out: Path, tasks: tuple[str, ...], limit: int, name: str) -> dict:
    from llaso.eval.run import RunConfig, model_backend, run
    from llaso.eval.score import ScoreOptions, score_path

    config = RunConfig(data=data, out=out, model=name, tasks=tasks, limit=limit, batch_size=8, max_new_tokens=64,
                       progress=sys.stderr.isatty())
    run(config, backend=model_backend(config, model=model))
    return score_path(out, ScoreOptions(progress=False, use_judge=False))


def headline(results: dict) -> dict[str, tuple[str, float | None]]:
    """stem -> (metric, value) of each file's headline metric (exact match for open QA)."""
    out = {}
    for stem, info in results.get("files", {}).items():
        metrics = info.get("metrics", {})
        for name in ("wer_normalized", "accuracy", "exact_match", "mae"):
            if metrics.get(name) is not None:
                out[stem] = (name, metrics[name])
                break
    return out


# ----------------------------------------------------------------------------- the other parts
def everyday_clips(work: Path) -> list[tuple[str, Path, dict]]:
    """Each everyday question spoken by two held-out voices of different engines."""
    import soundfile as sf

    from llaso.data.tts.registry import get_backend
    from llaso.data.tts.voices import voice_catalogue

    voices = [v for v in voice_catalogue() if v.split == "test" and v.id in
              ("flite:rms", "espeak-ng:en-us+f4", "piper:joe-bright", "festival:kal_diphone")]
    questions = json.loads((ROOT / "data" / "everyday_questions.json").read_text())["questions"]
    work.mkdir(parents=True, exist_ok=True)
    clips = []
    for i, q in enumerate(questions):
        for voice in (voices[i % len(voices)], voices[(i + 1) % len(voices)]):
            path = work / f"q{i:02d}_{voice.id.replace(':', '_').replace('+', '_')}.wav"
            if not path.exists():
                synthesis = get_backend(voice.engine).synthesize(q["question"], voice, 1.0)
                sf.write(path, synthesis.samples, synthesis.sampling_rate)
            clips.append((q["question"], path, q))
    return clips


def everyday_right(answer: str, q: dict) -> bool:
    text = answer.lower()
    def has(w: str) -> bool:
        return re.search(rf"\b{re.escape(w)}\b", text) is not None
    return any(has(w) for w in q["accept"]) and not any(has(w) for w in q["reject"])


def no_speech_inputs(work: Path) -> list[tuple[str, object]]:
    """Silence, noise, 1 ms of audio, a WAV cut after its header, a header that lies."""
    import soundfile as sf

    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    silence = np.zeros(5 * 16000, np.float32)
    noise = (0.05 * rng.standard_normal(3 * 16000)).astype(np.float32)
    hum = (0.1 * np.sin(2 * np.pi * 50 * np.arange(4 * 16000) / 16000)).astype(np.float32)
    short = np.zeros(16, np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, noise, 16000, format="WAV", subtype="PCM_16")
    header_only = buffer.getvalue()[:44]
    lying = bytearray(buffer.getvalue()[:1044])
    ten_hours = 10 * 3600 * 16000 * 2
    lying[40:44] = ten_hours.to_bytes(4, "little")
    lying[4:8] = (ten_hours + 36).to_bytes(4, "little")
    return [("5 s of silence", silence), ("3 s of white noise", noise), ("4 s of mains hum", hum),
            ("1 ms of audio", short), ("a WAV cut after its header", header_only),
            ("a header claiming ten hours over 1 kB", bytes(lying))]


def looks_like_no_speech(answer: str) -> bool:
    return any(w in answer.lower() for w in NO_SPEECH_WORDS)


def first_token_seconds(model, messages, repeats: int = 3) -> float:
    from llaso.generation.sampling import SamplingParams

    one = SamplingParams(max_new_tokens=1)
    model.chat(messages, one)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.chat(messages, one)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def whisper_wer(data: Path, limit: int) -> float | None:
    """Its Whisper alone (`llaso transcribe`) on the ASR test clips: normalised WER."""
    from llaso.data.schema import iter_samples, reference_text, resolve_audio_path
    from llaso.eval.metrics import word_error_rate_normalized
    from llaso.inference.transcribe import WhisperTranscriber

    path = data / "ASR_ta_test.json"
    if not path.is_file():
        return None
    samples = list(iter_samples(path))[:limit]
    whisper = WhisperTranscriber.from_pretrained()
    results = whisper.transcribe([resolve_audio_path(s["voice"][0], data) for s in samples])
    return word_error_rate_normalized([r.text or "" for r in results], [reference_text(s) or "" for s in samples])


# ----------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="llaso-tiny")
    parser.add_argument("--data", type=Path, default=Path("data/llaso-mini/test"))
    parser.add_argument("--limit", type=int, default=50, help="samples per test file")
    parser.add_argument("--out", type=Path, default=Path("runs/quality-vs-cascade"))
    parser.add_argument("--tasks", nargs="+", default=list(CONTENT_TASKS + VOICE_TASKS))
    parser.add_argument("--skip-harness", action="store_true", help="only the demo, everyday, no-speech, TTFT parts")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import torch

    from llaso import Llaso
    from llaso.demo.showcase import demo_cases, run_demo
    from llaso.generation.sampling import SamplingParams
    from llaso.inference.api import user_message

    torch.set_num_threads(2)
    tag = args.model.replace("/", "_").strip("_")
    out = args.out / tag
    print(f"machine: {describe_machine()}")
    lslm = Llaso.from_pretrained(args.model, device="cpu")
    cascade = Llaso.from_pretrained(f"cascade:{args.model}", device="cpu")
    systems = {"LSLM": lslm, "cascade": cascade}
    report: dict = {"model": args.model, "machine": describe_machine()}

    if not args.skip_harness:
        tasks = tuple(args.tasks)
        table = {}
        for name, model in systems.items():
            table[name] = headline(run_harness(model, args.data, out / name, tasks, args.limit, f"{name}:{args.model}"))
        ceiling_data = ceiling_files(args.data, out / "ceiling-data", tasks, args.limit)
        table["ceiling"] = headline(run_harness(lslm, ceiling_data, out / "ceiling", tasks, args.limit,
                                                f"ceiling:{args.model}"))
        report["harness"] = table
        print(f"\nllaso-mini test split, first {args.limit} per file (lower is better for wer/mae)")
        print(f"{'file':24} {'metric':15} {'LSLM':>8} {'cascade':>8} {'ceiling':>8}")
        for stem in sorted(table["LSLM"]):
            metric = table["LSLM"][stem][0]
            cells = [table[s].get(stem, (metric, None))[1] for s in ("LSLM", "cascade", "ceiling")]
            print(f"{stem:24} {metric:15} " + " ".join(f"{c:8.3f}" if c is not None else f"{'-':>8}" for c in cells))
        report["whisper_wer"] = whisper_wer(args.data, args.limit)
        asr = table["LSLM"].get("ASR_ta_test")
        if asr and report["whisper_wer"]:
            print(f"ASR through the LSLM: WER {asr[1]:.3f} vs its Whisper alone {report['whisper_wer']:.3f} "
                  f"({asr[1] / report['whisper_wer']:.2f}x; goal <= 1.1x)")

    params = SamplingParams(max_new_tokens=48)
    print("\ndemo clips (answer checked against what a right one contains)")
    report["demo"] = {}
    for name, model in systems.items():
        results = run_demo(model, params, out=lambda line: None, cases=demo_cases())
        flags = [ok for r in results for ok in r.right]
        report["demo"][name] = {"right": sum(flags), "of": len(flags),
                                "answers": [a for r in results for a in r.answers]}
        print(f"  {name:8} {sum(flags)}/{len(flags)} right: " + " | ".join(a[:40] for r in results for a in r.answers))

    print("\ntwelve everyday questions, spoken by held-out voices, pure audio")
    clips = everyday_clips(args.out / "everyday-audio")
    report["everyday"] = {}
    for name, model in systems.items():
        answers = model.chat_batch([[user_message(None, str(path), layout="a")] for _, path, _ in clips], params)
        right = [everyday_right(a.text or "", q) for a, (_, _, q) in zip(answers, clips)]
        per_question = [right[i] and right[i + 1] for i in range(0, len(right), 2)]
        report["everyday"][name] = {"clips_right": sum(right), "clips": len(right),
                                    "questions_right_in_both_voices": sum(per_question),
                                    "answers": [a.text for a in answers]}
        print(f"  {name:8} {sum(right)}/{len(right)} clips right; {sum(per_question)}/12 questions right in both voices")

    print("\nno speech, near-empty or broken audio: an invented answer counts against")
    report["no_speech"] = {}
    for name, model in systems.items():
        invented = 0
        rows = []
        for label, audio in no_speech_inputs(args.out / "no-speech-audio"):
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    answer = model.chat([user_message("What is the speaker saying?", audio)], params)
                flagged = [str(w.message) for w in caught if "truncated" in str(w.message).lower()]
                honest = looks_like_no_speech(answer) or bool(flagged)
                rows.append((label, answer + (f" [warned: {flagged[0][:60]}]" if flagged else ""), honest))
            except Exception as exc:  # a clear error is not an invention
                rows.append((label, f"error: {exc}"[:90], True))
                honest = True
            invented += not honest
        report["no_speech"][name] = {"invented": invented, "rows": rows}
        print(f"  {name}: {invented} invented of {len(rows)}")
        for label, answer, honest in rows:
            print(f"    {label:40} {'ok ' if honest else 'BAD'} {answer[:70]}")

    from llaso.demo.showcase import clip

    ttft_messages = [user_message("What is the speaker saying?", clip("reminder.wav"))]
    report["ttft"] = {name: first_token_seconds(model, ttft_messages) for name, model in systems.items()}
    ratio = report["ttft"]["LSLM"] / report["ttft"]["cascade"]
    print(f"\ntime to first token (demo reminder clip, median of 3): LSLM {report['ttft']['LSLM']:.2f} s, "
          f"cascade {report['ttft']['cascade']:.2f} s ({ratio:.2f}x; goal <= 1.2x)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(report, indent=2, default=str))
    print(f"\nwrote {out / 'results.json'}")


if __name__ == "__main__":
    main()
