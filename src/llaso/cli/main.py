"""The `llaso` command: one table of subcommands, each a thin wrapper over a library function.

Each command module exposes `register(subparsers)`, which adds its parser and sets
`handler=<function(args) -> int>`. Modules are imported only when listed here, and each
imports its heavy dependencies inside the handler, so `llaso --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from llaso.errors import LlasoError

# Command modules, in the order `llaso --help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "llaso.cli.chat_cmd",
    "llaso.cli.transcribe_cmd",
    "llaso.cli.index_cmd",
    "llaso.cli.ask_cmd",
    "llaso.cli.meeting_cmd",
    "llaso.cli.run_cmd",
    "llaso.cli.models_cmd",
    "llaso.cli.convert_cmd",
    "llaso.cli.demo_cmd",
    "llaso.cli.data_cmd",
    "llaso.cli.tasks_cmd",
    "llaso.cli.train_cmd",
    "llaso.cli.eval_cmd",
    "llaso.cli.serve_cmd",
    "llaso.cli.keys_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llaso", description="Large speech-language models on your own machine."
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="show debug logs")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # a command not built yet in this checkout
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except LlasoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
