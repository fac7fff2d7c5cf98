"""Long audio and meetings on this machine, printed as tables:

1. `llaso transcribe` at 1, 10 and 60 minutes: real-time factor and peak resident memory
   (one fresh process each; goal: memory flat within 10 %);
2. WER of VAD segmentation vs the blind 30 s cut, on the same scripted meetings;
3. our hand-written greedy Whisper loop (torch) vs the kept engine (CTranslate2), same
   weights, same VAD pieces: speed and WER;
4. `llaso meeting` on the scripted meetings: DER (simpleder; against a one-speaker baseline),
   action-item recall/precision and decision recall (phrase rules, and the LLM of llaso-tiny
   asked instead), meeting RTF.

    .venv/bin/python benchmarks/bench_long_audio.py [--work /tmp/llaso-bench-long-audio] [--quick]

Generated audio (about 40 minutes of scripted meetings, and 1/10/60-minute recordings made
by concatenating them) goes under --work, never into the repository; it is reused when present.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch/ctranslate2 load: see notes below

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe_machine  # noqa: E402

MEETINGS = [(3, 2), (6, 3), (10, 4), (20, 3)]  # (minutes, speakers)
QUICK_MEETINGS = [(3, 2), (4, 3)]
LENGTHS = (1, 10, 60)


def build_meetings(work: Path, plan: list[tuple[float, int]]) -> list[Path]:
    from llaso.features.meeting.scripted import build_meeting

    paths = []
    for index, (minutes, speakers) in enumerate(plan):
        name = f"meeting{index + 1:02d}"
        path = work / f"{name}.wav"
        if not (path.exists() and path.with_suffix(".json").exists()):
            build_meeting(work, name, minutes=minutes, speakers=speakers, seed=1600 + index, progress=True)
        paths.append(path)
    return paths


def long_recording(work: Path, sources: list[Path], minutes: int) -> Path:
    """`minutes` of audio from the meetings end to end (looped), written block by block."""
    import numpy as np
    import soundfile as sf

    path = work / f"long_{minutes:02d}min.wav"
    if path.exists():
        return path
    target = minutes * 60 * 16000
    written = 0
    tmp = path.with_suffix(".tmp.wav")
    with sf.SoundFile(tmp, "w", samplerate=16000, channels=1, subtype="PCM_16") as out:
        while written < target:
            for source in sources:
                for block in sf.blocks(source, blocksize=16000 * 10, dtype="float32"):
                    block = np.asarray(block[: target - written])
                    out.write(block)
                    written += len(block)
                    if written >= target:
                        break
                if written >= target:
                    break
    tmp.rename(path)
    return path


def transcribe_process(path: Path, extra: list[str] = ()) -> dict:
    """`llaso transcribe --json` in a fresh process: its timings and its peak RSS."""
    probe = ("import json, resource, subprocess, sys, time; t = time.perf_counter(); "
             "r = subprocess.run([sys.executable, '-m', 'llaso.cli.main', 'transcribe', '--json', '--quiet', "
             f"*{list(extra)!r}, {str(path)!r}], capture_output=True, text=True); "
             "print(json.dumps({'rc': r.returncode, 'wall': time.perf_counter() - t, "
             "'rss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, 'out': r.stdout, 'err': r.stderr[-500:]}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    result = json.loads(done.stdout)
    record = json.loads(result["out"].strip().splitlines()[-1]) if result["out"].strip() else {}
    return {**result, **record}


def reference_text(labels) -> str:
    return " ".join(t.text for t in labels.turns)


def wer(hyp: str, ref: str) -> float:
    from llaso.eval.metrics import word_error_rate_normalized

    return float(word_error_rate_normalized([hyp], [ref]))


def table(title: str, header: list[str], rows: list[list]) -> None:
    widths = [max(len(str(x)) for x in [h] + [r[i] for r in rows]) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))


def bench_lengths(work: Path, meetings: list[Path], lengths) -> dict:
    """Peak memory is set by the batch (8 pieces of 30 s in the encoder at once), not by the
    length: a recording shorter than one batch peaks lower. Batch 1 shows the floor."""
    rows, out = [], {}
    runs = [(minutes, 8) for minutes in lengths] + [(lengths[0], 1), (lengths[-1], 1)]
    for minutes, batch in runs:
        path = long_recording(work, meetings, minutes)
        r = transcribe_process(path, ["--format", "srt", "--batch-size", str(batch)])
        rtf = r["seconds"] / r["audio_seconds"]
        out[f"{minutes}min_batch{batch}"] = {"rtf": rtf, "rss_mb": r["rss_kb"] / 1024, "wall": r["wall"], "rc": r["rc"]}
        rows.append([f"{minutes} min", batch, f"{r['audio_seconds']:.0f} s", f"{r['seconds']:.1f} s", f"{rtf:.3f}",
                     f"{r['wall']:.1f} s", f"{r['rss_kb'] / 1024:.0f} MB", r["rc"]])
    table("1. llaso transcribe --format srt (VAD, CTranslate2 int8) in a fresh process per run",
          ["length", "batch", "audio", "transcribe", "RTF", "wall (with load)", "peak RSS", "exit"], rows)
    for batch in (8, 1):
        first = out[f"{lengths[0]}min_batch{batch}"]["rss_mb"]
        last = out[f"{lengths[-1]}min_batch{batch}"]["rss_mb"]
        print(f"   batch {batch}: peak RSS {lengths[-1]} min vs {lengths[0]} min: {100 * (last - first) / first:+.1f} %")
    if len(lengths) > 2:
        mid, last = out[f"{lengths[1]}min_batch8"]["rss_mb"], out[f"{lengths[-1]}min_batch8"]["rss_mb"]
        print(f"   batch 8: peak RSS {lengths[-1]} min vs {lengths[1]} min: {100 * (last - mid) / mid:+.1f} %")
    return out


def bench_segmentation(meetings: list[Path], transcriber) -> dict:
    from llaso.features.meeting.scripted import load_meeting

    rows, totals = [], {"vad": [[], []], "fixed": [[], []]}
    for path in meetings:
        labels = load_meeting(path)
        ref = reference_text(labels)
        row = [path.stem, f"{labels.duration / 60:.1f} min"]
        for how in ("vad", "fixed"):
            began = time.perf_counter()
            result = transcriber.transcribe([path], segmentation=how)[0]
            elapsed = time.perf_counter() - began
            row += [f"{wer(result.text, ref):.3f}", f"{elapsed / labels.duration:.3f}"]
            totals[how][0].append(result.text)
            totals[how][1].append(ref)
        rows.append(row)
    from llaso.eval.metrics import word_error_rate_normalized

    overall = {how: float(word_error_rate_normalized(*totals[how])) for how in totals}
    rows.append(["all", "", f"{overall['vad']:.3f}", "", f"{overall['fixed']:.3f}", ""])
    table("2. WER (normalised) of VAD segmentation vs the blind 30 s cut, same audio, same decoder",
          ["meeting", "length", "WER vad", "RTF vad", "WER 30 s cut", "RTF 30 s cut"], rows)
    return overall


def bench_engines(meetings: list[Path], transcriber, max_pieces: int) -> dict:
    """Same VAD pieces through both decoders, without timestamps (the task both can do)."""
    from llaso.features.meeting.scripted import load_meeting
    from llaso.inference.transcribe import TorchBackend

    pieces, refs = [], []
    for path in meetings:
        labels = load_meeting(path)
        _, stream = transcriber.pieces(path)
        for piece in stream:
            inside = [t.text for t in labels.turns if piece.start <= (t.start + t.end) / 2 < piece.end]
            pieces.append(piece)
            refs.append(" ".join(inside))
            if len(pieces) >= max_pieces:
                break
        if len(pieces) >= max_pieces:
            break
    audio = sum(p.duration for p in pieces)
    torch_backend = TorchBackend.from_directory(device="cpu")
    engines = [("torch (ours, greedy loop, fp32)", lambda batch: [d.text for d in torch_backend.decode(batch, timestamps=False)]),
               ("ctranslate2 int8 (kept)", lambda batch: [d.text for d in transcriber.backend.decode(batch, timestamps=False)]),
               ("ctranslate2 int8 + timestamps + words (llaso's path)",
                lambda batch: [d.text for d in transcriber.backend.decode(batch, timestamps=True, word_timestamps=True)])]
    from llaso.eval.metrics import word_error_rate_normalized

    rows, out = [], {}
    for name, decode in engines:
        decode([pieces[0].samples])  # warm-up
        began = time.perf_counter()
        texts = []
        for i in range(0, len(pieces), 8):
            texts += decode([p.samples for p in pieces[i : i + 8]])
        elapsed = time.perf_counter() - began
        score = float(word_error_rate_normalized(texts, refs))
        out[name] = {"seconds": elapsed, "rtf": elapsed / audio, "wer": score}
        rows.append([name, f"{elapsed:.1f} s", f"{elapsed / audio:.3f}", f"{score:.3f}"])
    table(f"3. Whisper tiny.en decoders, same weights, same {len(pieces)} VAD pieces ({audio / 60:.1f} min), batch 8",
          ["decoder", "time", "RTF", "WER"], rows)
    return out


def bench_meetings(meetings: list[Path], transcriber, model) -> dict:
    from llaso.features.meeting.evaluate import action_item_scores, der, speaker_mapping
    from llaso.features.meeting.pipeline import MeetingOptions, model_action_items, run_meeting
    from llaso.features.meeting.scripted import load_meeting

    rows, item_rows, out = [], [], {}
    sums = {"rules": [0, 0, 0], "model": [0, 0, 0]}
    for path in meetings:
        labels = load_meeting(path)
        reference = [(t.speaker, t.start, t.end) for t in labels.turns]
        row = [path.stem, f"{labels.duration / 60:.1f}", len(labels.participants)]
        one = [("all", reference[0][1], labels.duration)]
        row.append(f"{der(reference, one):.3f}")
        report = None
        for speakers in (None, len(labels.participants)):
            began = time.perf_counter()
            report = run_meeting(path, transcriber=transcriber, options=MeetingOptions(speakers=speakers))
            elapsed = time.perf_counter() - began
            hyp = [(t.speaker, t.start, t.end) for t in report.turns]
            row += [f"{der(reference, hyp):.3f}", len(report.speakers) if speakers is None else ""]
        row.append(f"{elapsed / labels.duration:.3f}")
        rows.append(row)
        hyp = [(t.speaker, t.start, t.end) for t in report.turns]
        mapping = speaker_mapping(reference, hyp)
        rules = action_item_scores(report.action_items, labels.action_items, mapping)
        found_decisions = sum(any(set(d.what.lower().split()[:3]) <= set(h.what.lower().split()) for h in report.decisions)
                              for d in labels.decisions)
        line = [path.stem, len(labels.action_items), f"{rules.recall:.2f}", f"{rules.precision:.2f}",
                f"{rules.task_recall:.2f}", f"{found_decisions}/{len(labels.decisions)}"]
        sums["rules"][0] += rules.matched
        sums["rules"][1] += rules.labelled
        sums["rules"][2] += rules.predicted
        if model is not None:
            asked = model_action_items(model, report.turns)
            llm = action_item_scores(asked, labels.action_items, mapping)
            line += [f"{llm.recall:.2f}", f"{llm.precision:.2f}", f"{llm.task_recall:.2f}"]
            sums["model"][0] += llm.matched
            sums["model"][1] += llm.labelled
            sums["model"][2] += llm.predicted
        item_rows.append(line)
        out[path.stem] = {"rules": rules.__dict__}
    table("4a. llaso meeting: diarisation error rate (simpleder, no collar, overlap counted)",
          ["meeting", "min", "speakers", "DER 1-speaker baseline", "DER (count found)", "found",
           "DER (--speakers N)", "", "RTF (no LLM)"], rows)
    header = ["meeting", "items", "recall rules", "precision rules", "task recall rules", "decisions found"]
    if model is not None:
        header += ["recall LLM", "precision LLM", "task recall LLM"]
    table("4b. action items (match: task words, owner, deadline) and decisions", header, item_rows)
    for how, (matched, labelled, predicted) in sums.items():
        if labelled:
            print(f"   overall {how}: recall {matched / labelled:.2f} ({matched}/{labelled}), "
                  f"precision {matched / max(predicted, 1):.2f} ({matched}/{predicted})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", default="/tmp/llaso-bench-long-audio")
    parser.add_argument("--quick", action="store_true", help="two short meetings, 1 and 5 minutes")
    parser.add_argument("--skip-model", action="store_true", help="no LLM action-item extraction")
    parser.add_argument("--pieces", type=int, default=40, help="VAD pieces for the decoder comparison")
    parser.add_argument("--stages", default="lengths,segmentation,engines,meetings",
                        help="comma-separated subset of lengths, segmentation, engines, meetings")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {describe_machine()}; load average {os.getloadavg()[0]:.1f}; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    meetings = build_meetings(work, QUICK_MEETINGS if args.quick else MEETINGS)
    from llaso.inference.transcribe import WhisperTranscriber

    transcriber = WhisperTranscriber.from_pretrained(device="cpu")
    stages = set(args.stages.split(","))
    results = {}
    if "lengths" in stages:
        results["lengths"] = bench_lengths(work, meetings, (1, 5) if args.quick else LENGTHS)
    if "segmentation" in stages:
        results["segmentation"] = bench_segmentation(meetings, transcriber)
    if "engines" in stages:
        results["engines"] = bench_engines(meetings, transcriber, args.pieces)
    if "meetings" in stages:
        model = None
        if not args.skip_model:
            from llaso import Llaso

            model = Llaso.from_pretrained("llaso-tiny", device="cpu")
        results["meetings"] = bench_meetings(meetings, transcriber, model)
    (work / f"results-{'-'.join(sorted(stages))}.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults under {work}; peak RSS of this process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
