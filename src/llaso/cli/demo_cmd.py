"""`llaso demo`: what the README's first command shows."""

from __future__ import annotations

import argparse
import time

from llaso.cli.options import add_model_options


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run llaso-tiny on bundled clips in all three layouts")
    add_model_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from llaso.checkpoints import catalog
    from llaso.cli.options import load_from_args
    from llaso.demo.showcase import run_demo

    started = time.perf_counter()
    model = load_from_args(args)
    print(f"loaded {args.model} in {time.perf_counter() - started:.1f} s on {model.model.device}")
    if args.model == "llaso-tiny":
        info = catalog.shipped_training_info()
        print("projector: " + (info.get("summary", "trained") if catalog.is_trained() else "UNTRAINED (answers about audio are noise)"))
    run_demo(model)
    return 0
