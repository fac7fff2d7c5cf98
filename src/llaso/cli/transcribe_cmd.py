"""`llaso transcribe`: Whisper ASR, one transcript per line (or JSON with timings)."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("transcribe", help="Whisper speech recognition (baseline / cascade)")
    parser.add_argument("files", nargs="+", help="audio files")
    parser.add_argument("--model", default=None, help="Whisper checkpoint directory (default: whisper-tiny.en)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-audio-seconds", type=float, default=600.0)
    parser.add_argument("--json", action="store_true", help="one JSON object per file with timings")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from llaso.inference.transcribe import WhisperTranscriber

    transcriber = WhisperTranscriber.from_pretrained(args.model, device=args.device)
    results = transcriber.transcribe(args.files, max_audio_seconds=args.max_audio_seconds, batch_size=args.batch_size)
    failed = 0
    for result in results:
        if result.error:
            failed += 1
            print(f"error: {result.error}", file=sys.stderr)
        if args.json:
            rtf = result.seconds / result.audio_seconds if result.audio_seconds else None
            print(json.dumps({"file": result.source, "text": result.text, "error": result.error,
                              "audio_seconds": round(result.audio_seconds, 3),
                              "seconds": round(result.seconds, 4), "rtf": round(rtf, 4) if rtf else None}))
        elif result.error is None:
            print(result.text)
        else:
            print("")
    return 1 if failed else 0
