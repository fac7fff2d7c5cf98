"""`llaso chat`: one question about audio, or an interactive multi-turn conversation."""

from __future__ import annotations

import argparse
import sys

from llaso.cli.options import add_model_options, add_sampling_options, load_from_args, sampling_from_args

HELP = """commands: /audio PATH  attach audio to your next message (repeatable)
          /reset       start a new conversation
          /exit        leave (or Ctrl-D)"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("chat", help="talk to a model about audio (one-shot or interactive)")
    parser.add_argument("prompt", nargs="?", help="one-shot question; omit for an interactive session")
    parser.add_argument("--audio", action="append", default=[], help="audio file for the question (repeatable)")
    parser.add_argument("--system", default=None, help="system prompt")
    parser.add_argument("--layout", default="t,a", choices=("t,a", "a,t", "a"),
                        help="t,a (default): the prompt is an instruction about the audio; a,t: the audio is a "
                             "spoken instruction and the prompt its input; a: the audio says it all")
    parser.add_argument("--long-audio", choices=("error", "map_reduce"), default=None,
                        help="audio over the model's budget: answer part by part and combine (map_reduce, "
                             "the default) or refuse (error, the default with --fidelity)")
    add_model_options(parser)
    add_sampling_options(parser)
    parser.set_defaults(handler=run)


def _answer(model, messages: list[dict], params, out, long_audio: str = "error") -> str:
    pieces = []
    for piece in model.stream_chat(messages, params, long_audio=long_audio):
        pieces.append(piece)
        out.write(piece)
        out.flush()
    out.write("\n")
    return "".join(pieces).strip()


def run(args: argparse.Namespace) -> int:
    from llaso.errors import LlasoError
    from llaso.inference.api import user_message

    params = sampling_from_args(args)
    model = load_from_args(args)
    long_audio = args.long_audio or ("error" if args.fidelity else "map_reduce")
    base = [{"role": "system", "content": args.system}] if args.system else []
    if args.prompt is not None or args.audio:
        _answer(model, base + [user_message(args.prompt, args.audio, layout=args.layout)], params, sys.stdout, long_audio)
        return 0

    interactive = sys.stdin.isatty()
    if interactive:
        print(HELP)
    messages = list(base)
    pending_audio: list[str] = []
    while True:
        if interactive:
            print("you> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            return 0
        line = line.strip()
        if not line:
            continue
        if line in ("/exit", "/quit"):
            return 0
        if line == "/reset":
            messages, pending_audio = list(base), []
            print("(conversation reset)")
            continue
        if line.startswith("/audio"):
            path = line[len("/audio"):].strip()
            if not path:
                print("usage: /audio PATH")
                continue
            pending_audio.append(path)
            print(f"(attached {path} to your next message)")
            continue
        if line.startswith("/"):
            print(HELP)
            continue
        turn = user_message(line, pending_audio, layout=args.layout)
        try:
            if interactive:
                print("llaso> ", end="", flush=True)
            answer = _answer(model, messages + [turn], params, sys.stdout, long_audio)
        except LlasoError as exc:  # a bad file must not end the session
            print(f"error: {exc}")
            pending_audio = []
            continue
        messages += [turn, {"role": "assistant", "content": answer}]
        pending_audio = []
