"""`llaso serve` as a process: 503 while loading, LLASO_API_KEY, no outbound connection
(a socket guard inside the server process), and SIGTERM draining in-flight requests."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from serve_helpers import audio_part, start_process, stop_process

pytestmark = pytest.mark.slow

ENV_KEY = "llaso-env-key-for-the-process-test"
# Runs in the server process before llaso: records every connect() or name lookup that is not
# loopback (or a Unix socket) and refuses it.
GUARD = r'''
import ipaddress, os, socket, sys
_LOG = os.environ["LLASO_CONNECT_LOG"]

def _note(what):
    with open(_LOG, "a") as handle:
        handle.write(what + "\n")

def _local(host):
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False

def _guard(event, args):
    if event in ("socket.connect", "socket.connect_ex"):
        sock, address = args
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
            _note(f"connect {address!r}")
            raise PermissionError(f"outbound connection to {address!r} blocked by the test guard")
    elif event == "socket.getaddrinfo" and not _local(args[0]):
        _note(f"getaddrinfo {args[0]!r}")
        raise PermissionError(f"name lookup of {args[0]!r} blocked by the test guard")

sys.addaudithook(_guard)
_note("guard installed")
'''


def _guard_log(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_the_guard_catches_an_outbound_connect(tmp_path: Path) -> None:
    """The guard itself: without this, an empty log below would prove nothing."""
    log = tmp_path / "connects.log"
    code = GUARD + (
        "\nfor attempt in (lambda: socket.socket().connect(('192.0.2.1', 80)),"
        "\n                lambda: socket.getaddrinfo('example.com', 443),"
        "\n                lambda: socket.socket().connect(('127.0.0.1', 9))):"
        "\n    try:\n        attempt()\n    except OSError:\n        pass\n")
    subprocess.run([sys.executable, "-c", code], env={"LLASO_CONNECT_LOG": str(log)}, check=True, timeout=30)
    assert _guard_log(log) == ["guard installed", "connect ('192.0.2.1', 80)", "getaddrinfo 'example.com'"]


@pytest.fixture(scope="module")
def proc(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("proc")
    log = tmp / "connects.log"
    statuses: list[int] = []
    server = start_process(["--drain-timeout-s", "150", "--max-tokens", "48"], tmp,
                           env={"LLASO_API_KEY": ENV_KEY, "LLASO_CONNECT_LOG": str(log)}, prelude=GUARD,
                           health_statuses=statuses)
    server.connect_log = log
    server.first_health = statuses
    yield server
    stop_process(server)


def test_health_is_503_while_loading_then_200(proc) -> None:
    assert proc.first_health[0] == 503 and proc.first_health[-1] == 200


def test_env_key_is_required(proc) -> None:
    body = {"model": "llaso-tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
    assert httpx.post(proc.url + "/v1/chat/completions", json=body, timeout=60).status_code == 401
    ok = httpx.post(proc.url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {ENV_KEY}"},
                    timeout=120)
    assert ok.status_code == 200


def test_no_outbound_connection_even_when_asked(proc, clips) -> None:
    headers = {"Authorization": f"Bearer {ENV_KEY}"}
    for url in ("http://93.184.216.34/clip.wav", "https://example.com/clip.wav", "ftp://files.example/x.wav"):
        body = {"model": "llaso-tiny", "max_tokens": 1, "messages": [{"role": "user", "content": [
            {"type": "audio_url", "audio_url": {"url": url}}, {"type": "text", "text": "What is said?"}]}]}
        reply = httpx.post(proc.url + "/v1/chat/completions", json=body, headers=headers, timeout=60)
        assert reply.status_code == 400 and reply.json()["error"]["code"] == "remote_audio_url_refused"
    # A whole session of real work: chat with audio and a transcription.
    chat = {"model": "llaso-tiny", "max_tokens": 4, "messages": [{"role": "user", "content": [
        audio_part(clips["hello"]), {"type": "text", "text": "Transcribe the audio."}]}]}
    assert httpx.post(proc.url + "/v1/chat/completions", json=chat, headers=headers, timeout=120).status_code == 200
    with clips["hello"].open("rb") as f:
        reply = httpx.post(proc.url + "/v1/audio/transcriptions", headers=headers, timeout=120,
                           files={"file": ("hello.wav", f)}, data={"model": "whisper-1"})
    assert reply.status_code == 200 and reply.json()["text"]
    assert _guard_log(proc.connect_log) == ["guard installed"]  # loaded, served, never connected out


def test_sigterm_drains_in_flight_requests_and_exits_0(proc) -> None:
    headers = {"Authorization": f"Bearer {ENV_KEY}"}
    body = {"model": "llaso-tiny", "max_tokens": 8, "stream": True,
            "messages": [{"role": "user", "content": "Write a very long story about a cat who travels the world."}]}
    results: dict[str, list] = {"streamed": [], "whole": []}
    started = threading.Event()

    def streamed() -> None:
        with httpx.stream("POST", proc.url + "/v1/chat/completions", json=body, headers=headers, timeout=120) as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    started.set()
                    results["streamed"].append(line[6:])

    def whole() -> None:  # waits in the queue behind the first, or shares its batch
        reply = httpx.post(proc.url + "/v1/chat/completions", json={**body, "stream": False}, headers=headers,
                           timeout=120)
        results["whole"].append(reply)

    threads = [threading.Thread(target=streamed), threading.Thread(target=whole)]
    for thread in threads:
        thread.start()
    assert started.wait(60)
    time.sleep(0.2)
    proc.process.send_signal(signal.SIGTERM)
    refused_at = time.monotonic() + 10
    while True:  # it stops accepting new connections while the two finish
        try:
            with socket.create_connection(("127.0.0.1", int(proc.url.rsplit(":", 1)[1])), timeout=1):
                pass
        except OSError:
            break
        assert time.monotonic() < refused_at, "still accepting connections after SIGTERM"
        time.sleep(0.1)
    for thread in threads:
        thread.join(120)
    assert proc.process.wait(60) == 0
    events = results["streamed"]
    assert events[-1] == "[DONE]"
    finish = [json.loads(e)["choices"][0]["finish_reason"] for e in events[:-1] if json.loads(e).get("choices")]
    assert finish[-1] in ("stop", "length") and not any("error" in e for e in events)
    (reply,) = results["whole"]
    assert reply.status_code == 200 and reply.json()["choices"][0]["finish_reason"] in ("stop", "length")
    assert "Traceback" not in proc.log()


def test_an_error_after_streaming_began_is_an_event(thread_server) -> None:
    """What a stream still running at the end of the drain gets: an error event, then [DONE]."""
    from llaso.serve.settings import build_settings

    server = thread_server(build_settings(max_tokens=64))
    body = {"model": "llaso-tiny", "max_tokens": 64, "stream": True,
            "messages": [{"role": "user", "content": "Write a very long story about a cat who travels the world."}]}
    events = []
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=120) as reply:
        for line in reply.iter_lines():
            if not line.startswith("data: "):
                continue
            events.append(line[6:])
            if len(events) == 3:  # two chunks in: the drain time is over
                server.app.state.llaso.worker.abort()
    assert events[-1] == "[DONE]"
    error = json.loads(events[-2])["error"]
    assert error["code"] == "shutting_down" and error["type"] == "server_error"
