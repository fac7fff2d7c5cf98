"""Loopback OpenAI-compatible servers and small LLaSO test splits for the eval tests."""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

OFFICIAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "llaso-official" / "LLaSO-Base"

Responder = Callable[[dict[str, Any]], "tuple[int, dict[str, Any]]"]


@pytest.fixture(scope="session")
def official_dir() -> Path:
    if not OFFICIAL.is_dir():
        pytest.skip(f"official LLaSO-Base predictions not found at {OFFICIAL.resolve()} (shared/ is beside the repo in CI)")
    return OFFICIAL.resolve()


@dataclass
class LoopbackServer:
    """A real HTTP server on 127.0.0.1 answering POST /v1/chat/completions via `respond`."""

    respond: Responder
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_first: list[int] = field(default_factory=list)  # status codes to return before succeeding
    delay_s: float = 0.0
    hold_after: int | None = None  # answer this many requests, then hold the rest until `release`
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _answered: int = 0

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with server._lock:
                    server.requests.append(body)
                    status = server.fail_first.pop(0) if server.fail_first else None
                if self.path != "/v1/chat/completions":
                    status = 404
                if status is not None:
                    self._send(status, {"error": {"message": f"planned failure {status}", "type": "test"}})
                    return
                with server._lock:
                    hold = server.hold_after is not None and server._answered >= server.hold_after
                    server._answered += not hold
                if hold:
                    server.release.wait(timeout=60)
                    return  # the client is gone by now
                if server.delay_s:
                    time.sleep(server.delay_s)
                self._send(*server.respond(body))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def completion(text: str, model: str = "test") -> dict[str, Any]:
    """A chat completion in OpenAI's response shape."""
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@pytest.fixture
def loopback() -> Iterator[Callable[[Responder], LoopbackServer]]:
    servers: list[LoopbackServer] = []

    def start(respond: Responder) -> LoopbackServer:
        server = LoopbackServer(respond)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# ----------------------------------------------------------------- a tiny LLaSO test split
SENTENCES = {
    220.0: "the cat sat on the mat",
    330.0: "a quick brown fox jumps",
    440.0: "speech models listen and answer",
}


def tone(freq: float, seconds: float = 0.4, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def midi_to_hz(midi: int) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def make_split(root: Path, per_file: int = 6) -> Path:
    """Three LLaSO-format test files (ASR, SGC, PP) with synthetic tone clips under root/audio.

    With `listening_model` answering: one ASR reference differs by a word, the second SGC
    clip gets no label (an abstention), and pitches are read exactly.
    """
    audio = root / "audio"
    audio.mkdir(parents=True)

    def clip(name: str, freq: float) -> str:
        sf.write(audio / name, tone(freq), 16000, subtype="PCM_16")
        return f"audio\\{name}"  # Windows separators, as in the official files

    asr, sgc, pp = [], [], []
    freqs = list(SENTENCES)
    for i in range(per_file):
        f = freqs[i % len(freqs)]
        asr.append({"id": f"asr{i}", "voice": [clip(f"asr{i}.wav", f)], "conversations": [
            {"from": "human", "value": "Transcribe the speech.<audio>"},
            {"from": "gpt", "value": SENTENCES[f] if i != 1 else "a quick brown fox jumped"}]})
        male = i % 2 == 0
        sgc.append({"id": f"sgc{i}", "voice": [clip(f"sgc{i}.wav", 150.0 if male else (520.0 if i == 1 else 420.0))], "conversations": [
            {"from": "human", "value": "What is the speaker's gender? Answer Male or Female.<audio>"},
            {"from": "gpt", "value": "Male." if male else "Female."}]})
        midi = 50 + 3 * i
        pp.append({"id": f"pp{i}", "voice": [clip(f"pp{i}.wav", midi_to_hz(midi))], "conversations": [
            {"from": "human", "value": "Return the pitch as a MIDI number.<audio>"},
            {"from": "gpt", "value": str(midi)}]})
    for name, records in (("ASR_ta_test.json", asr), ("SGC_ta_test.json", sgc), ("PP_ta_test.json", pp)):
        (root / name).write_text(json.dumps(records, indent=2))
    return root


def dominant_frequency(wav_b64: str) -> float:
    samples, rate = sf.read(io.BytesIO(base64.b64decode(wav_b64)), dtype="float32")
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def listening_model(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A deterministic 'audio model': reads the tone's frequency from the input_audio part."""
    parts = body["messages"][-1]["content"]
    text = " ".join(p["text"] for p in parts if p["type"] == "text")
    audios = [p["input_audio"] for p in parts if p["type"] == "input_audio"]
    if not audios or audios[0]["format"] != "wav":
        return 400, {"error": {"message": "expected one wav input_audio part"}}
    freq = dominant_frequency(audios[0]["data"])
    if "gender" in text:
        answer = "Male" if freq < 300 else ("Female" if freq < 480 else "I am not sure.")
    elif "pitch" in text:
        answer = f"MIDI {round(69 + 12 * math.log2(freq / 440.0))}"
    else:
        answer = SENTENCES[min(SENTENCES, key=lambda f: abs(f - freq))]
    return 200, completion(answer, body.get("model", "test"))


@pytest.fixture(scope="session")
def split_maker() -> Callable[..., Path]:
    """`make_split(root, per_file=6)`: the tiny ASR/SGC/PP test split described there."""
    return make_split


@pytest.fixture(scope="session")
def listening() -> Responder:
    return listening_model
