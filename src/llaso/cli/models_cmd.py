"""`llaso models`: what can be loaded on this machine, without loading anything."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list the models available locally")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from llaso.checkpoints.base_weights import llaso_home
    from llaso.checkpoints.catalog import list_models

    home = llaso_home()
    table = Table(title=f"models (LLASO_HOME={home})")
    for column in ("name", "description", "status", "location"):
        table.add_column(column)
    for entry in list_models(home):
        table.add_row(entry.name, entry.description, entry.status, entry.location)
    Console().print(table)
    return 0
