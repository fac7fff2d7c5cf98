"""`llaso run`: LLaSO-format samples in, the same samples with an `answer` field out."""

from __future__ import annotations

import argparse
import sys

from llaso.cli.options import add_model_options, add_sampling_options, load_from_args, sampling_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="batch inference over a LLaSO-format file (resumable)")
    parser.add_argument("--input", required=True, help="JSON array or JSON Lines of LLaSO samples")
    parser.add_argument("--output", required=True, help="where to write the samples with answers")
    parser.add_argument("--audio-root", default=None, help="folder audio paths are relative to (default: the input's)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None, help="only the first N samples")
    add_model_options(parser)
    add_sampling_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from llaso.errors import LlasoError
    from llaso.inference.batch_run import run_file

    if not Path(args.input).is_file():
        raise LlasoError(f"{args.input}: no such file")
    params = sampling_from_args(args)
    model = load_from_args(args)
    summary = run_file(model, args.input, args.output, audio_root=args.audio_root, params=params,
                       batch_size=args.batch_size, limit=args.limit, progress=sys.stderr.isatty())
    print(f"{summary.total} samples: {summary.answered} answered, {summary.failed} failed, "
          f"{summary.skipped} already done -> {args.output}", file=sys.stderr)
    return 1 if summary.failed else 0
