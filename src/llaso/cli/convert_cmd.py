"""`llaso convert`: import checkpoints from other layouts, and prepare the embedded base weights."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("convert", help="import checkpoints; prepare base weights")
    targets = parser.add_subparsers(dest="convert_target", metavar="TARGET", required=True)

    official = targets.add_parser(
        "llaso-base",
        help="official LLaSO-Base directory (llava_llama) -> llaso checkpoint (fidelity mode)",
    )
    official.add_argument("src", type=Path, help="the official checkpoint directory")
    official.add_argument("dst", type=Path, help="new directory for the llaso checkpoint")
    official.add_argument(
        "--audio-tower",
        type=Path,
        default=None,
        help="local whisper-large-v3 directory, when the checkpoint holds no audio tower weights",
    )
    official.add_argument(
        "--system-prompt",
        default=None,
        help="system prompt of the official template (default: the built-in one)",
    )
    official.set_defaults(handler=run_llaso_base)

    base = targets.add_parser(
        "base-weights",
        help="convert the embedded default's Whisper tiny.en and SmolLM2-135M into the cache",
    )
    base.set_defaults(handler=run_base_weights)


def run_llaso_base(args: argparse.Namespace) -> int:
    from llaso.checkpoints.official import OFFICIAL_SYSTEM_PROMPT, convert_llaso_base

    out = convert_llaso_base(
        args.src,
        args.dst,
        audio_tower_path=args.audio_tower,
        system_prompt=args.system_prompt if args.system_prompt is not None else OFFICIAL_SYSTEM_PROMPT,
    )
    print(out)
    return 0


def run_base_weights(args: argparse.Namespace) -> int:
    import logging

    from llaso.checkpoints.base_weights import ensure_smollm2_135m_instruct, ensure_whisper_tiny_en

    # Say what is being converted and how long it took (first use only).
    logging.getLogger("llaso.checkpoints.base_weights").setLevel(logging.INFO)

    print(f"whisper-tiny.en\t{ensure_whisper_tiny_en()}")
    print(f"smollm2-135m-instruct\t{ensure_smollm2_135m_instruct()}")
    return 0
