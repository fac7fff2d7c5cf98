"""Options shared by the commands that load a model and decode."""

from __future__ import annotations

import argparse


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="llaso-tiny", help="catalog name or checkpoint directory (default: llaso-tiny)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: cuda > mps > cpu)")
    parser.add_argument("--dtype", default=None, help="float32, bfloat16 or float16 (default: by device)")
    parser.add_argument("--fidelity", action="store_true",
                        help="encode audio as LLaSO-Base does: 30 s padded windows (slower)")
    parser.add_argument("--audio-tower", default=None, metavar="DIR",
                        help="encoder folder for an official checkpoint saved without its encoder weights")


def add_sampling_options(parser: argparse.ArgumentParser, max_new_tokens: int = 256) -> None:
    parser.add_argument("--max-new-tokens", type=int, default=max_new_tokens)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")


def load_from_args(args: argparse.Namespace):  # -> Llaso
    from llaso.inference.api import Llaso

    return Llaso.from_pretrained(args.model, device=args.device, dtype=args.dtype,
                                 fidelity=getattr(args, "fidelity", False),
                                 audio_tower=getattr(args, "audio_tower", None))


def sampling_from_args(args: argparse.Namespace):  # -> SamplingParams
    from llaso.generation.sampling import SamplingParams

    try:
        return SamplingParams(max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                              top_p=args.top_p, seed=args.seed, stop=tuple(args.stop))
    except ValueError as exc:
        from llaso.errors import LlasoError

        raise LlasoError(str(exc)) from None
