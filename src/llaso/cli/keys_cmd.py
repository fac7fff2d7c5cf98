"""`llaso keys`: API keys for `llaso serve`, stored as hashes in a TOML key file."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_FILE = Path("keys.toml")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("keys", help="API keys for `llaso serve` (add, list, remove)")
    actions = parser.add_subparsers(dest="keys_action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="create a key: printed once, only its hash is stored")
    add.add_argument("name", help="who or what the key is for (shown in logs)")
    add.add_argument("--scopes", default="chat,transcribe,models",
                     help="comma-separated: chat, transcribe, models, metrics (default chat,transcribe,models)")
    add.add_argument("--requests-per-minute", type=int, default=None, help="this key's rate limit")
    add.add_argument("--tokens-per-minute", type=int, default=None, help="this key's token limit")
    add.add_argument("--file", type=Path, default=DEFAULT_FILE, help="key file (default ./keys.toml)")
    add.set_defaults(handler=run_add)

    listing = actions.add_parser("list", help="names, scopes and limits (never keys)")
    listing.add_argument("--file", type=Path, default=DEFAULT_FILE)
    listing.set_defaults(handler=run_list)

    remove = actions.add_parser("remove", help="revoke a key by name")
    remove.add_argument("name")
    remove.add_argument("--file", type=Path, default=DEFAULT_FILE)
    remove.set_defaults(handler=run_remove)


def run_add(args: argparse.Namespace) -> int:
    from llaso.serve.keys import KeyFileError, add_key, parse_scopes

    for name in ("requests_per_minute", "tokens_per_minute"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise KeyFileError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    key = add_key(args.file, args.name, parse_scopes(args.scopes), args.requests_per_minute, args.tokens_per_minute)
    print(key)
    import sys

    print(f"stored the hash of key {args.name!r} in {args.file}; the key above is shown only now. "
          f"Serve with: llaso serve --api-key-file {args.file}", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from llaso.serve.keys import SCOPES, read_key_file

    for key in read_key_file(args.file):
        limits = [f"{n}={getattr(key, n)}" for n in ("requests_per_minute", "tokens_per_minute") if getattr(key, n)]
        print("\t".join([key.name, ",".join(s for s in SCOPES if s in key.scopes), " ".join(limits),
                         key.created or ""]).rstrip())
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from llaso.serve.keys import remove_key

    remove_key(args.file, args.name)
    print(f"removed key {args.name!r} from {args.file}")
    return 0
