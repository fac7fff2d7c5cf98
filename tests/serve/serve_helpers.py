"""Helpers the serve tests import: servers on 127.0.0.1 (a thread or a process) and bodies."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


@dataclass
class ThreadServer:
    """uvicorn serving `app` from a thread, on a port the OS picked."""

    app: Any

    def start(self) -> ThreadServer:
        import uvicorn

        from llaso.serve.server import bind

        self._sock = bind("127.0.0.1", 0)
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()
        wait_healthy(self.url)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(30)
        self._sock.close()
        assert not self._thread.is_alive(), "the server thread did not stop"


def wait_healthy(url: str, timeout: float = 120.0, statuses: list[int] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = httpx.get(url + "/health", timeout=2).status_code
            if statuses is not None:
                statuses.append(status)
            if status == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not become healthy in {timeout:.0f} s")


@dataclass
class ProcessServer:
    process: subprocess.Popen
    url: str
    log_path: Path
    connect_log: Path | None = None
    first_health: list[int] | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_process(args: list[str], tmp: Path, env: dict[str, str] | None = None, prelude: str | None = None,
                  timeout: float = 180.0, health_statuses: list[int] | None = None) -> ProcessServer:
    """`llaso serve ARGS --port 0` in a subprocess (after `prelude` Python code, if given)."""
    log_path = tmp / "server.log"
    code = (prelude or "") + "\nimport sys\nfrom llaso.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    handle = log_path.open("wb")
    process = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", "0", *args],
                               stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, cwd=tmp)
    deadline = time.monotonic() + timeout
    url = None
    while time.monotonic() < deadline and url is None:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{log_path.read_text()}")
        for line in log_path.read_text(errors="replace").splitlines():
            if line.startswith("llaso serve:") and " on http://" in line:
                url = line.split(" on ", 1)[1].split()[0]
        time.sleep(0.1)
    assert url, f"no address printed:\n{log_path.read_text()}"
    wait_healthy(url, timeout=max(1.0, deadline - time.monotonic()), statuses=health_statuses)
    return ProcessServer(process, url, log_path)


def stop_process(server: ProcessServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(10)


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def audio_part(path: Path, fmt: str = "wav") -> dict[str, Any]:
    return {"type": "input_audio", "input_audio": {"data": b64(path), "format": fmt}}


def openai_client(server_url: str, key: str | None = None, **kwargs: Any):
    from openai import OpenAI

    return OpenAI(base_url=server_url + "/v1", api_key=key or "no-key", max_retries=0, **kwargs)


def encoded(fmt: str = "wav", seconds: float = 1.0, rate: int = 16000, subtype: str | None = None,
            samples: Any = None) -> bytes:
    """A tone (or `samples`) encoded in `fmt` by libsndfile."""
    import io

    import numpy as np
    import soundfile as sf

    if samples is None:
        t = np.arange(int(seconds * rate)) / rate
        samples = (0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    subtypes = {"wav": "PCM_16", "flac": "PCM_16", "ogg": "VORBIS", "mp3": "MPEG_LAYER_III"}
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt.upper(), subtype=subtype or subtypes[fmt])
    return buffer.getvalue()


def wav_claiming(seconds: float, actual_seconds: float = 0.5) -> bytes:
    """A 16 kHz 16-bit WAV whose header says `seconds` but which holds `actual_seconds`."""
    import struct

    data = bytearray(encoded("wav", actual_seconds))
    at = data.find(b"data")
    data[at + 4:at + 8] = struct.pack("<I", int(seconds * 32000))
    return bytes(data)


def llaso_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI messages with input_audio parts -> llaso's, with the same audio bytes."""
    out = []
    for message in messages:
        content = message["content"]
        if isinstance(content, list):
            content = [{"type": "audio", "audio": base64.b64decode(p["input_audio"]["data"])}
                       if p["type"] == "input_audio" else p for p in content]
        out.append({"role": message["role"], "content": content})
    return out
