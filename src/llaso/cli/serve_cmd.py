"""`llaso serve`: an OpenAI-compatible HTTP server for a model (chat, transcription, a web page)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from llaso.cli.options import add_model_options


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve a model over OpenAI's HTTP API, with a web page",
                                   description="Serve a model over OpenAI's chat and transcription API. "
                                   "Binds 127.0.0.1 by default; any other address needs an API key.")
    add_model_options(parser)
    parser.set_defaults(model=None)
    parser.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--api-key", action="append", default=[], metavar="KEY",
                        help="accept this key, with every scope (repeatable; also LLASO_API_KEY)")
    parser.add_argument("--api-key-file", type=Path, default=None, help="keys.toml written by `llaso keys add`")
    parser.add_argument("--config", type=Path, default=None, help="serve.toml with settings and [limits]")
    parser.add_argument("--served-model-name", default=None, help="the name clients put in `model`")
    parser.add_argument("--whisper", default=None, help="Whisper checkpoint for transcriptions (default tiny.en)")
    parser.add_argument("--index", type=Path, default=None,
                        help="a `llaso index build` file: POST /v1/llaso/ask answers from it, citing it")
    parser.add_argument("--cors-origin", action="append", default=[], dest="cors_origins", metavar="ORIGIN",
                        help="allow browser requests from this origin (repeatable; CORS is off otherwise)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for the model (default: torch's; 1 is faster on a busy shared machine)")
    parser.add_argument("--log-content", action="store_true", default=None,
                        help="also log request text and answers (off by default)")
    limits = parser.add_argument_group("limits (see docs/serving.md for all, settable in --config)")
    limits.add_argument("--max-queue", type=int, default=None, help="requests admitted at once (default 64)")
    limits.add_argument("--max-batch-size", type=int, default=None, help="conversations decoded together (default 8)")
    limits.add_argument("--batch-wait-ms", type=float, default=None, help="wait for more requests to batch (default 5)")
    limits.add_argument("--max-tokens", type=int, default=None, help="cap on a request's max_tokens (default 1024)")
    limits.add_argument("--max-body-bytes", type=int, default=None, help="request body (default 25 MiB)")
    limits.add_argument("--max-audio-seconds", type=float, default=None, help="audio per chat request (default 120)")
    limits.add_argument("--requests-per-minute", type=int, default=None, help="per key (default: unlimited)")
    limits.add_argument("--tokens-per-minute", type=int, default=None, help="per key (default: unlimited)")
    limits.add_argument("--drain-timeout-s", type=float, default=None, help="on SIGTERM, time to finish (default 30)")
    parser.set_defaults(handler=run)


def settings_from_args(args: argparse.Namespace):  # -> ServeSettings
    from llaso.serve.settings import build_settings

    keys = list(args.api_key)
    if os.environ.get("LLASO_API_KEY"):
        keys.append(os.environ["LLASO_API_KEY"])
    names = ("model", "device", "dtype", "host", "port", "api_key_file", "served_model_name", "whisper", "index",
             "cors_origins", "log_content", "threads", "max_queue", "max_batch_size", "batch_wait_ms", "max_tokens",
             "max_body_bytes", "max_audio_seconds", "requests_per_minute", "tokens_per_minute", "drain_timeout_s")
    given = {name: getattr(args, name) for name in names}
    return build_settings(args.config, api_keys=keys, fidelity=args.fidelity or None, **given)


def run(args: argparse.Namespace) -> int:
    from llaso.serve.server import serve

    return serve(settings_from_args(args))
