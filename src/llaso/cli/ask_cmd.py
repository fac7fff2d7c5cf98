"""`llaso ask`: ask your documents a question, aloud or typed; a cited answer or a refusal."""

from __future__ import annotations

import argparse
import json

from llaso.cli.options import add_model_options, add_sampling_options


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ask", help="answer a spoken or typed question from an index, with citations")
    parser.add_argument("--index", required=True, help="an index from `llaso index build`")
    parser.add_argument("--audio", default=None, help="the spoken question (any audio file)")
    parser.add_argument("--question", default=None,
                        help="the question as text (with --audio: used for retrieval instead of the transcript)")
    parser.add_argument("--top-k", type=int, default=None, help="passages the model reads (default 3)")
    parser.add_argument("--mode", default="auto", choices=["auto", "bm25", "dense", "fused"],
                        help="retrieval (default: fused when the index has dense vectors, else bm25)")
    parser.add_argument("--min-relevance", type=float, default=None,
                        help="refuse below this retrieval relevance, 0-1 (default: calibrated per mode)")
    parser.add_argument("--cascade", action="store_true",
                        help="baseline: the Whisper transcript into the LLM as text, without the audio")
    parser.add_argument("--no-attribute", action="store_true",
                        help="never credit a passage the model did not cite itself")
    parser.add_argument("--whisper", default=None, help="Whisper checkpoint for the transcript (default: tiny.en)")
    parser.add_argument("--json", action="store_true", help="the answer, citations and passages as JSON")
    add_model_options(parser)
    add_sampling_options(parser, max_new_tokens=96)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from llaso.cli.options import load_from_args, sampling_from_args
    from llaso.errors import LlasoError
    from llaso.features.retrieval import DEFAULT_TOP_K, PassageIndex, ask

    if args.audio is None and not args.question:
        raise LlasoError("give the question with --audio FILE, --question TEXT, or both")
    params = sampling_from_args(args)
    with PassageIndex.open(args.index) as index:  # a missing index fails before any model loads
        transcriber = None
        if args.audio is not None and not args.question:
            from llaso.inference.transcribe import WhisperTranscriber

            transcriber = WhisperTranscriber.from_pretrained(args.whisper, device=args.device)
        model = load_from_args(args)
        answer = ask(model, index, audio=args.audio, question=args.question, transcriber=transcriber,
                     k=args.top_k or DEFAULT_TOP_K, mode=args.mode, min_relevance=args.min_relevance,
                     params=params, cascade=args.cascade, attribute=not args.no_attribute)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        if args.audio is not None and not args.question:
            print(f"Q: {answer.question}")
        print(answer.format())
    return 0
