"""Fixtures for the serve tests: the session's Whisper, servers in threads over the
session's llaso-tiny (one engine thread per server, one server at a time), the test clips."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import ThreadServer


@pytest.fixture(scope="session")
def whisper():
    from llaso.inference.transcribe import WhisperTranscriber

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WhisperTranscriber.from_pretrained(device="cpu")


@pytest.fixture(scope="module")
def thread_server(tiny, whisper):
    """start(settings) -> a running ThreadServer; all stop when the module ends."""
    servers: list[ThreadServer] = []

    def start(settings, **kwargs: Any) -> ThreadServer:
        from llaso.serve.app import create_app

        kwargs.setdefault("model", tiny)
        kwargs.setdefault("transcriber", whisper)
        server = ThreadServer(create_app(settings, **kwargs)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def clips(fixtures_dir: Path) -> dict[str, Path]:
    return {"hello": fixtures_dir / "audio" / "hello_espeak.wav",
            "cat": fixtures_dir / "data" / "audio" / "cat_sat.wav",
            "yes": fixtures_dir / "data" / "audio" / "yes.wav",
            "note": fixtures_dir / "data" / "audio" / "note_60.wav"}
