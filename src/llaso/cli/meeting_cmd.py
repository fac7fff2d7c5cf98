"""`llaso meeting RECORDING`: a Markdown and JSON meeting report (transcript, speaker turns,
summary, decisions, action items, tone of each turn)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from llaso.cli.options import add_model_options


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "meeting", help="meeting report: transcript, speakers, summary, decisions, action items",
        description="Transcribe a meeting recording of any length, find who spoke when, and write a "
                    "Markdown and a JSON report with a summary, decisions and action items.")
    parser.add_argument("recording", help="audio file (WAV, FLAC, OGG, MP3, ...)")
    parser.add_argument("--out", "-o", default=None,
                        help="report path without extension (default: RECORDING's name beside it); "
                             "writes OUT.md and OUT.json")
    parser.add_argument("--speakers", type=int, default=None, help="number of speakers, if known")
    parser.add_argument("--no-model", action="store_true",
                        help="skip the speech-language model: no summary, no tone (fast)")
    parser.add_argument("--no-summary", action="store_true")
    parser.add_argument("--no-tone", action="store_true", help="do not ask the model about each turn's voice")
    parser.add_argument("--tone-question", default=None, help="what to ask the model about each turn's audio")
    parser.add_argument("--max-tone-turns", type=int, default=60)
    parser.add_argument("--extractor", choices=("rules", "model"), default="rules",
                        help="action items by phrase rules (default) or asked of the model")
    parser.add_argument("--print", dest="print_format", choices=("markdown", "json", "none"), default="markdown",
                        help="also print the report (default: markdown)")
    add_model_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # OpenMP's busy-wait makes the LSTM and the LLM several times slower on a busy machine.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from tqdm import tqdm

    from llaso.atomic import write_text_atomic
    from llaso.cli.options import load_from_args
    from llaso.features.meeting.pipeline import DEFAULT_TONE_QUESTION, MeetingOptions, run_meeting
    from llaso.inference.transcribe import WhisperTranscriber

    options = MeetingOptions(speakers=args.speakers, summary=not args.no_summary, tone=not args.no_tone,
                             tone_question=args.tone_question or DEFAULT_TONE_QUESTION,
                             max_tone_turns=args.max_tone_turns, extractor=args.extractor)
    model = None if args.no_model else load_from_args(args)
    bars: dict = {}

    def progress(stage: str, done: float, total: float) -> None:
        if not sys.stderr.isatty():
            return
        bar = bars.get(stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[stage] = tqdm(total=round(total, 1), desc=stage, unit="s", file=sys.stderr, leave=False)
        bar.n = min(round(done, 1), bar.total)
        bar.refresh()

    try:
        report = run_meeting(args.recording, model=model, transcriber=WhisperTranscriber.from_pretrained(device=args.device),
                             options=options, progress=progress)
    finally:
        for bar in bars.values():
            bar.close()
    base = Path(args.out) if args.out else Path(args.recording).with_suffix("")
    write_text_atomic(base.with_name(base.name + ".md"), report.to_markdown())
    write_text_atomic(base.with_name(base.name + ".json"), report.to_json())
    if args.print_format == "markdown":
        print(report.to_markdown())
    elif args.print_format == "json":
        print(report.to_json(), end="")
    print(f"wrote {base}.md and {base}.json", file=sys.stderr)
    return 0
