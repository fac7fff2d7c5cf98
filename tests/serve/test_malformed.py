"""Hostile and broken requests: each gets a clear 4xx in OpenAI's error shape, and the next
valid request still succeeds; then a bounded random fuzz run: no 5xx, the engine lives."""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable

import httpx
import numpy as np
import pytest
from serve_helpers import encoded, wav_claiming

from llaso.serve.settings import build_settings

pytestmark = pytest.mark.slow

CHAT = "/v1/chat/completions"
TRANSCRIBE = "/v1/audio/transcriptions"


@pytest.fixture(scope="module")
def server(thread_server):
    settings = build_settings(max_tokens=4, default_max_tokens=2, max_audios=2, max_audio_seconds=20.0,
                              max_text_chars=20_000, max_body_bytes=1024 * 1024, max_queue=16,
                              max_transcription_seconds=20.0)
    return thread_server(settings)


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def wav_b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def chat_body(*parts, **extra) -> dict:
    content = list(parts) or "Say hi."
    return {"model": "llaso-tiny", "messages": [{"role": "user", "content": content}], "max_tokens": 1, **extra}


def audio(data: bytes, fmt: str = "wav") -> dict:
    return {"type": "input_audio", "input_audio": {"data": wav_b64(data), "format": fmt}}


TEXT = {"type": "text", "text": "What is said?"}
Send = Callable[[httpx.Client], httpx.Response]


def post_json(body) -> Send:
    return lambda c: c.post(CHAT, json=body)


def post_raw(content: bytes, content_type: str = "application/json", path: str = CHAT) -> Send:
    return lambda c: c.post(path, content=content, headers={"Content-Type": content_type})


def transcribe(files=None, data=None) -> Send:
    return lambda c: c.post(TRANSCRIBE, files=files, data=data if data is not None else {"model": "whisper-1"})


CASES: dict[str, tuple[Send, int, str]] = {
    # name: (request, status, error code)
    "broken JSON": (post_raw(b'{"model": "llaso-tiny", "messages": ['), 400, "invalid_json"),
    "not UTF-8": (post_raw(b'{"model": "\xff\xfe"}'), 400, "invalid_json"),
    "NaN literal": (post_raw(b'{"model": "llaso-tiny", "messages": [], "temperature": NaN}'), 400, "invalid_json"),
    "nested 100k deep": (post_raw(b"[" * 100_000 + b"]" * 100_000), 400, "invalid_json"),
    "body is a list": (post_json([1, 2, 3]), 400, "invalid_request"),
    "messages is a string": (post_json({"model": "llaso-tiny", "messages": "hi"}), 400, "invalid_value"),
    "max_tokens as a string": (post_json(chat_body(max_tokens="12")), 400, "invalid_value"),
    "stream as a string": (post_json(chat_body(stream="yes")), 400, "invalid_value"),
    "missing messages": (post_json({"model": "llaso-tiny"}), 400, "missing_field"),
    "missing model": (post_json({"messages": [{"role": "user", "content": "hi"}]}), 400, "missing_field"),
    "empty messages": (post_json({"model": "llaso-tiny", "messages": []}), 400, "invalid_value"),
    "huge max_tokens": (post_json(chat_body(max_tokens=10**30)), 400, "max_tokens_too_large"),
    "negative max_tokens": (post_json(chat_body(max_tokens=-5)), 400, "invalid_value"),
    "huge temperature": (post_json(chat_body(temperature=1e300)), 400, "invalid_value"),
    "negative top_p": (post_json(chat_body(top_p=-1)), 400, "invalid_value"),
    "seed past 2**63": (post_json(chat_body(seed=2**70)), 400, "invalid_value"),
    "unknown part type": (post_json(chat_body({"type": "image_url", "image_url": {"url": "data:,"}})), 400,
                          "unsupported_content_part"),
    "part is a number": (post_json(chat_body(7)), 400, "unsupported_content_part"),
    "unknown role": (post_json({"model": "llaso-tiny", "messages": [{"role": "robot", "content": "hi"}]}), 400,
                     "invalid_value"),
    "assistant first": (post_json({"model": "llaso-tiny", "messages": [{"role": "assistant", "content": "hi"}]}),
                        400, "invalid_value"),
    "audio in an assistant turn": (post_json({"model": "llaso-tiny", "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [audio(encoded("wav", 0.3))]}, {"role": "user", "content": "and?"}]}),
        400, "invalid_value"),
    "tool calls": (post_json(chat_body(tools=[{"type": "function", "function": {"name": "f"}}])), 400,
                   "unsupported_parameter"),
    "truncated WAV": (post_json(chat_body(audio(encoded("wav", 2.0)[:20000]), TEXT)), 400, "truncated_audio"),
    "zero-length audio data": (post_json(chat_body({"type": "input_audio", "input_audio": {"data": "", "format": "wav"}},
                                                   TEXT)), 400, "invalid_base64"),
    "WAV with no samples": (post_json(chat_body(audio(encoded("wav", samples=np.zeros(0, np.float32))), TEXT)), 400,
                            "invalid_audio"),
    "NaN audio": (post_json(chat_body(audio(encoded("wav", samples=np.full(800, np.nan, np.float32), subtype="FLOAT")),
                                      TEXT)), 400, "invalid_audio"),
    "header claiming ten hours": (post_json(chat_body(audio(wav_claiming(36000.0)), TEXT)), 400, "audio_too_long"),
    "too many audios": (post_json(chat_body(*[audio(encoded("wav", 0.2))] * 3, TEXT)), 400, "too_many_audios"),
    "format missing": (post_json(chat_body({"type": "input_audio", "input_audio": {"data": "AAAA"}}, TEXT)), 400,
                       "missing_field"),
    "data: prefix in input_audio": (post_json(chat_body({"type": "input_audio", "input_audio": {
        "data": "data:audio/wav;base64," + wav_b64(encoded("wav", 0.2)), "format": "wav"}}, TEXT)), 400,
        "invalid_base64"),
    "remote audio_url": (post_json(chat_body({"type": "audio_url", "audio_url": {"url": "http://10.0.0.1/a.wav"}},
                                             TEXT)), 400, "remote_audio_url_refused"),
    "reserved audio token in text": (post_json(chat_body({"type": "text", "text": "hi <|audio|> there"})), 400,
                                     "invalid_request"),
    "lone surrogate": (post_raw(b'{"model": "llaso-tiny", "messages": [{"role": "user", "content": "a\\ud800b"}]}'),
                       400, "invalid_value"),
    "very long text": (post_json(chat_body({"type": "text", "text": "word " * 5000})), 400, "text_too_long"),
    "body over the limit": (post_json(chat_body({"type": "text", "text": "x" * (1024 * 1024)})), 413, "body_too_large"),
    "wrong content type": (post_raw(b'{"model": "llaso-tiny"}', "text/plain"), 415, "unsupported_media_type"),
    "unknown model": (post_json({**chat_body(), "model": "gpt-5"}), 404, "model_not_found"),
    "GET on a POST route": (lambda c: c.get(CHAT), 405, "method_not_allowed"),
    "multipart without a file": (transcribe(files={"model": (None, "whisper-1")}), 400, "missing_field"),
    "transcription of text": (transcribe(files={"file": ("a.wav", b"not audio at all" * 10)}), 400, "invalid_audio"),
    "transcription as JSON": (post_raw(b'{"file": "x"}', path=TRANSCRIBE), 415, "unsupported_media_type"),
    "transcription format": (transcribe(files={"file": ("a.wav", encoded("wav", 0.3))},
                                        data={"model": "whisper-1", "response_format": "docx"}), 400, "invalid_value"),
    "transcription language": (transcribe(files={"file": ("a.wav", encoded("wav", 0.3))},
                                          data={"model": "whisper-1", "language": "fr"}), 400, "unsupported_language"),
    "transcription too long": (transcribe(files={"file": ("a.wav", wav_claiming(3600.0))}), 400, "audio_too_long"),
}


def valid_request_works(http: httpx.Client) -> None:
    reply = http.post(CHAT, json=chat_body())
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] is not None


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_request_gets_a_clear_4xx(http, name: str) -> None:
    send, status, code = CASES[name]
    reply = send(http)
    assert reply.status_code == status, (name, reply.text[:300])
    error = reply.json()["error"]
    assert error["code"] == code, (name, error)
    assert isinstance(error["message"], str) and len(error["message"]) > 10
    assert set(error) == {"message", "type", "param", "code"}
    valid_request_works(http)


def test_at_least_fifteen_classes() -> None:
    assert len(CASES) >= 15


def test_odd_but_valid_unicode_is_answered(http) -> None:
    text = "\u202eRTL\u202c zero\u200bwidth e\u0301 \U0001F3A7 \x00 \ufeff 中文 עברית"
    reply = http.post(CHAT, json=chat_body({"type": "text", "text": text}))
    assert reply.status_code == 200


# ------------------------------------------------------------------------------- fuzz
FUZZ_COUNT, FUZZ_SECONDS = 150, 90.0
NASTY = [None, True, -1, 0, 2**64, -(2**63), 1e308, -1e-308, "", "x" * 300, "\u0000", [], {}, [[]], {"a": {}},
         "data:audio/wav;base64,AAAA", {"type": "text"}, {"type": "input_audio", "input_audio": {"data": 5}}]


def _mutate(rng: random.Random, value, depth: int = 0):
    """`value` with one random change somewhere inside it."""
    if isinstance(value, dict) and value and depth < 6:
        key = rng.choice(list(value))
        roll = rng.random()
        copy = dict(value)
        if roll < 0.15:
            del copy[key]
        elif roll < 0.3:
            copy[rng.choice(["n", "stream", "stop", "seed", "tools", "extra", "max_tokens"])] = rng.choice(NASTY)
        else:
            copy[key] = _mutate(rng, value[key], depth + 1)
        return copy
    if isinstance(value, list) and value and depth < 6:
        copy = list(value)
        index = rng.randrange(len(copy))
        roll = rng.random()
        if roll < 0.15:
            del copy[index]
        elif roll < 0.3:
            copy.insert(index, rng.choice(NASTY))
        elif roll < 0.4:
            copy = copy * rng.randint(2, 4)
        else:
            copy[index] = _mutate(rng, copy[index], depth + 1)
        return copy
    if isinstance(value, str) and len(value) > 100 and rng.random() < 0.7:  # base64 audio: damage the bytes
        raw = bytearray(base64.b64decode(value))
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(min(len(raw), 64 if rng.random() < 0.6 else len(raw)))] = rng.randrange(256)
        if rng.random() < 0.3:
            raw = raw[: rng.randrange(len(raw))]
        return base64.b64encode(bytes(raw)).decode()
    return rng.choice(NASTY)


def _fuzz_request(rng: random.Random, base: dict) -> tuple[str, bytes, str]:
    roll = rng.random()
    if roll < 0.08:
        return CHAT, bytes(rng.randrange(256) for _ in range(rng.randint(0, 400))), "application/json"
    body = json.dumps(_mutate(rng, base)).encode()
    if roll < 0.16:
        body = body[: rng.randrange(len(body))]
    content_type = "application/json" if rng.random() < 0.95 else rng.choice(["text/plain", "", "multipart/form-data"])
    return CHAT, body, content_type


def test_bounded_random_fuzz_no_5xx_engine_alive(server, http) -> None:
    rng = random.Random(20261203)
    base = chat_body(audio(encoded("wav", 0.8)), TEXT, stream=False, temperature=0.0)
    base["messages"].insert(0, {"role": "system", "content": "Be brief."})
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + FUZZ_SECONDS
    for count in range(FUZZ_COUNT):
        if time.monotonic() > deadline:
            break
        path, body, content_type = _fuzz_request(rng, base)
        reply = http.post(path, content=body, headers={"Content-Type": content_type} if content_type else {})
        statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
        assert reply.status_code < 500, (count, reply.status_code, reply.text[:300], body[:300])
        if reply.status_code >= 400:
            assert "error" in reply.json()
    assert count >= 50 and sum(statuses.values()) == count + 1
    assert any(s >= 400 for s in statuses) and 200 in statuses  # it hit both sides
    valid_request_works(http)
    assert http.get("/health").status_code == 200
    metrics = http.get("/metrics").text
    assert "llaso_engine_errors_total 0.0" in metrics
