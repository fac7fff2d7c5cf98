"""`llaso run`: LLaSO-format samples in, the same samples with an `answer` field out."""

from __future__ import annotations

import argparse
import sys

from llaso.cli.options import add_model_options, add_sampling_options, load_from_args, sampling_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="batch inference over a LLaSO-format file (resumable)")
    parser.add_argument("--input", required=True, help="JSON array or JSON Lines of LLaSO samples")
    parser.add_argument("--output", required=True, help="where to write the samples with answers (.json or .jsonl)")
    parser.add_argument("--audio-root", default=None, help="folder audio paths are relative to (default: the input's)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None, help="only the first N samples")
    parser.add_argument("--endpoint", default=None,
                        help="answer with an OpenAI-compatible server instead (e.g. http://127.0.0.1:8000/v1)")
    parser.add_argument("--api-model", default=None, help="with --endpoint: the model name it serves")
    add_model_options(parser)
    add_sampling_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from llaso.data.runner import Journal, answer_records, answered_records, journal_path, write_answers
    from llaso.data.schema import iter_samples
    from llaso.errors import LlasoError
    from llaso.inference.backends import EndpointBackend, ModelBackend

    source, output = Path(args.input), Path(args.output)
    if not source.is_file():
        raise LlasoError(f"{args.input}: no such file")
    if output.resolve() == source.resolve():
        raise LlasoError("--output is the input file; answers would overwrite the samples")
    if args.limit is not None and args.limit < 1:
        raise LlasoError(f"--limit must be >= 1, got {args.limit}")
    samples = list(iter_samples(source))[: args.limit]
    params = sampling_from_args(args)
    if args.endpoint:
        if not args.api_model:
            raise LlasoError("--endpoint needs --api-model NAME")
        backend = EndpointBackend(args.endpoint, args.api_model, params, concurrency=args.batch_size)
    else:
        backend = ModelBackend(load_from_args(args), params, args.batch_size)
    journal = Journal(journal_path(output))
    root = args.audio_root if args.audio_root is not None else source.parent
    try:
        with tqdm(total=len(samples), desc="answering", unit="sample", disable=not sys.stderr.isatty()) as bar:
            bar.update(len(samples) - sum(1 for i in range(len(samples)) if i not in journal.answers))
            answered = answer_records(samples, backend.answer, journal, audio_root=root,
                                      batch_size=args.batch_size, on_batch=bar.update)
    finally:
        backend.close()
    records = answered_records(samples, journal)
    write_answers(output, records)
    failed = sum(1 for r in records if r.get("error"))
    print(f"{len(samples)} samples: {answered} answered now, {failed} failed, "
          f"{len(samples) - answered} already done -> {args.output}", file=sys.stderr)
    return 1 if failed else 0
