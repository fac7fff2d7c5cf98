"""The OpenAI API of `llaso serve`, through the real `openai` client, against a real server
on 127.0.0.1 with the real llaso-tiny: answers, streaming, transcription, keys, limits."""

from __future__ import annotations

import base64
import concurrent.futures
import logging
import re
import socket
import time

import httpx
import openai
import pytest
from serve_helpers import audio_part, b64, openai_client

from llaso.generation.sampling import SamplingParams
from llaso.serve.keys import ApiKey, hash_key, write_key_file
from llaso.serve.settings import build_settings

pytestmark = pytest.mark.slow

FULL = "test-full-key-0123456789"
KEYS = {"chatter": "llaso-chatter-key", "limited": "llaso-limited-key", "watcher": "llaso-watcher-key"}
MAX_TOKENS = 12
STORY = "Write a very long story about a cat who travels the world."


@pytest.fixture(scope="module")
def messages(clips):
    """Conversations in OpenAI's shape and in llaso's (the same, with paths for audio)."""
    def both(turns):
        ours, theirs = [], []
        for role, parts in turns:
            if isinstance(parts, str):
                ours.append({"role": role, "content": parts})
                theirs.append({"role": role, "content": parts})
                continue
            ours.append({"role": role, "content": [
                {"type": "audio", "path": str(clips[p[1:]])} if p.startswith("@") else {"type": "text", "text": p}
                for p in parts]})
            theirs.append({"role": role, "content": [
                audio_part(clips[p[1:]]) if p.startswith("@") else {"type": "text", "text": p} for p in parts]})
        return ours, theirs

    return {
        "audio": both([("user", ["@hello", "Transcribe the audio."])]),
        "multi": both([("system", "You are a helpful assistant."),
                       ("user", ["@cat", "What is said?"]),
                       ("assistant", "The cat sat on the mat."),
                       ("user", ["Compare these two clips.", "@yes", "and", "@note"])]),
        "text": both([("user", "Say hello.")]),
    }


@pytest.fixture(scope="module")
def references(tiny, messages):
    """In-process greedy answers and prompt lengths, computed before any server owns the model."""
    params = SamplingParams(max_new_tokens=MAX_TOKENS)
    out = {}
    for name, (ours, _) in messages.items():
        out[name] = {"answer": tiny.chat(ours, params), "prompt_tokens": len(tiny.encode(ours).input_ids)}
    out["audio"]["audio_tokens"] = tiny.processor.audio_token_count(2.786)
    out["stop"] = {"answer": tiny.chat(messages["text"][0], SamplingParams(max_new_tokens=MAX_TOKENS, stop=(" you",)))}
    return out


@pytest.fixture(scope="module")
def server(thread_server, references, tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    key_file = folder / "keys.toml"
    write_key_file(key_file, [
        ApiKey("chatter", hash_key(KEYS["chatter"]), frozenset({"chat"})),
        ApiKey("limited", hash_key(KEYS["limited"]), frozenset({"chat"}), requests_per_minute=2),
        ApiKey("watcher", hash_key(KEYS["watcher"]), frozenset({"metrics"})),
    ])
    settings = build_settings(api_keys=[FULL], api_key_file=key_file, max_body_bytes=2 * 1024 * 1024,
                              max_queue=3, max_batch_size=4, max_tokens=64, default_max_tokens=MAX_TOKENS,
                              max_audios=3, max_audio_seconds=30.0)
    return thread_server(settings)


@pytest.fixture(scope="module")
def client(server):
    return openai_client(server.url, FULL, timeout=120)


def metric(server, name: str, labels: str = "") -> float:
    text = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {FULL}"}).text
    for line in text.splitlines():
        if line.startswith(name + (("{" + labels + "}") if labels else " ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def wait_idle(server, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while metric(server, "llaso_requests_in_flight") > 0:
        assert time.monotonic() < deadline, "requests still in flight"
        time.sleep(0.1)


# --------------------------------------------------------------------------- answers
def test_models_health_and_metrics_scope(server, client) -> None:
    assert [m.id for m in client.models.list().data] == ["llaso-tiny", "whisper-tiny.en"]
    assert client.models.retrieve("llaso-tiny").id == "llaso-tiny"
    health = httpx.get(server.url + "/health")  # no key needed
    assert health.status_code == 200 and health.json()["auth_required"] is True
    assert httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {KEYS['chatter']}"}).status_code == 403
    text = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {KEYS['watcher']}"}).text
    for name in ("llaso_requests_total", "llaso_request_duration_seconds_bucket", "llaso_time_to_first_token_seconds",
                 "llaso_queue_depth", "llaso_prompt_tokens_total", "llaso_completion_tokens_total",
                 "llaso_audio_seconds_total"):
        assert name in text


def test_chat_with_audio_matches_in_process(client, messages, references) -> None:
    reply = client.chat.completions.create(model="llaso-tiny", messages=messages["audio"][1], max_tokens=MAX_TOKENS)
    assert reply.choices[0].message.content == references["audio"]["answer"]
    assert reply.choices[0].message.role == "assistant"
    assert reply.usage.prompt_tokens == references["audio"]["prompt_tokens"]
    assert reply.usage.prompt_tokens > references["audio"]["audio_tokens"] > 10  # audio tokens are counted
    assert reply.usage.completion_tokens >= 1


def test_multi_turn_several_audios_and_system(client, messages, references) -> None:
    reply = client.chat.completions.create(model="llaso-tiny", messages=messages["multi"][1],
                                           max_completion_tokens=MAX_TOKENS)
    assert reply.choices[0].message.content == references["multi"]["answer"]
    assert reply.usage.prompt_tokens == references["multi"]["prompt_tokens"]


def test_stream_with_usage_adds_up_to_the_answer(client, messages, references) -> None:
    stream = client.chat.completions.create(model="llaso-tiny", messages=messages["audio"][1], max_tokens=MAX_TOKENS,
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == references["audio"]["answer"]
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) >= 2  # streamed, not one blob
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == references["audio"]["prompt_tokens"]
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish in (["stop"], ["length"])
    assert chunks[-1].usage.completion_tokens >= 1


def test_stop_strings_cut_both_ways(client, messages, references) -> None:
    kwargs = {"model": "llaso-tiny", "messages": messages["text"][1], "max_tokens": MAX_TOKENS, "stop": [" you"]}
    whole = client.chat.completions.create(**kwargs)
    assert whole.choices[0].message.content == references["stop"]["answer"]
    streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(stream=True, **kwargs)
                       if c.choices)
    assert streamed == whole.choices[0].message.content
    assert " you" not in streamed


def test_sampling_with_seed_is_reproducible(client, messages) -> None:
    kwargs = {"model": "llaso-tiny", "messages": messages["text"][1], "max_tokens": 4, "temperature": 1.2,
              "top_p": 0.95, "seed": 1234}
    first = client.chat.completions.create(**kwargs).choices[0].message.content
    assert client.chat.completions.create(**kwargs).choices[0].message.content == first


def test_transcription_in_every_format(client, clips, whisper) -> None:
    # The server's Whisper is the session's one: the reference is computed while the server is idle.
    expected = whisper.transcribe([str(clips["hello"])])[0]
    with clips["hello"].open("rb") as f:
        assert client.audio.transcriptions.create(model="whisper-1", file=f).text == expected.text
    with clips["hello"].open("rb") as f:
        assert client.audio.transcriptions.create(model="whisper-1", file=f, response_format="text").strip() == expected.text
    with clips["hello"].open("rb") as f:
        srt = client.audio.transcriptions.create(model="whisper-tiny.en", file=f, response_format="srt", language="en")
    assert re.match(r"1\n00:00:00,000 --> 00:00:0\d,\d{3}\n", srt) and expected.text in srt
    with clips["hello"].open("rb") as f:
        vtt = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="vtt")
    assert vtt.startswith("WEBVTT") and "00:00:00.000 --> " in vtt
    with clips["hello"].open("rb") as f:
        verbose = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="verbose_json",
                                                     prompt="a pangram", temperature=0.0)
    assert verbose.text == expected.text and verbose.duration == pytest.approx(2.786, abs=0.01)
    # Segments carry the times of the speech in them (the voice detector's), within the clip.
    first, last = verbose.segments[0], verbose.segments[-1]
    assert 0.0 <= first.start < 0.5 and 0.6 * verbose.duration < last.end <= verbose.duration + 0.01
    assert [s.text for s in expected.segments] == [s.text for s in verbose.segments]
    assert verbose.segments[0].text == expected.text


# --------------------------------------------------------------------------- access
def test_keys_scopes_and_public_routes(server, messages) -> None:
    body = {"model": "llaso-tiny", "messages": messages["text"][1], "max_tokens": 2}
    with pytest.raises(openai.AuthenticationError) as missing:
        openai_client(server.url, "").chat.completions.create(**body)
    assert missing.value.code == "invalid_api_key"  # the SDK always sends a key: "no-key"
    raw = httpx.post(server.url + "/v1/chat/completions", json=body)
    assert raw.status_code == 401 and raw.json()["error"]["code"] == "missing_api_key"
    assert raw.headers["www-authenticate"].startswith("Bearer")
    with pytest.raises(openai.AuthenticationError):
        openai_client(server.url, FULL + "x").chat.completions.create(**body)
    chatter = openai_client(server.url, KEYS["chatter"])
    assert chatter.chat.completions.create(**body).choices[0].message.content is not None
    with pytest.raises(openai.PermissionDeniedError) as denied:
        chatter.models.list()
    assert denied.value.code == "insufficient_scope" and "'models'" in denied.value.message
    with pytest.raises(openai.PermissionDeniedError):
        chatter.audio.transcriptions.create(model="whisper-1", file=("a.wav", b"RIFF"))
    # Unknown routes need a key too (nothing about the server leaks without one), then 404.
    assert httpx.get(server.url + "/v2/anything").status_code == 401
    missing_route = httpx.get(server.url + "/v2/anything", headers={"Authorization": f"Bearer {FULL}"})
    assert missing_route.status_code == 404 and missing_route.json()["error"]["code"] == "not_found"
    # The page and its files are public: it asks for the key itself.
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(server.url + "/static/app.js").status_code == 200


def test_cors_is_off_without_an_allow_list(server) -> None:
    origin = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"}
    preflight = httpx.options(server.url + "/v1/chat/completions", headers=origin)
    assert "access-control-allow-origin" not in preflight.headers
    reply = httpx.get(server.url + "/health", headers=origin)
    assert "access-control-allow-origin" not in reply.headers


# --------------------------------------------------------------------------- limits
def test_body_limit_413_from_header_and_while_streaming(server) -> None:
    headers = {"Authorization": f"Bearer {FULL}", "Content-Type": "application/json"}
    big = httpx.post(server.url + "/v1/chat/completions", headers=headers, content=b"x" * (3 * 1024 * 1024))
    assert big.status_code == 413
    error = big.json()["error"]
    assert error["code"] == "body_too_large" and "max_body_bytes" in error["message"] and "2097152" in error["message"]

    # No Content-Length, and the body never ends: a 413 can only come back if the limit trips
    # while the body streams in.
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + FULL.encode()
                     + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        piece = b" " * 65536
        for _ in range(40):  # 2.5 MiB, past the 2 MiB limit; the closing chunk is never sent
            sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
        answer = b""
        while b"body_too_large" not in answer and (data := sock.recv(65536)):
            answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"body_too_large" in answer


def _chat_error(client, **kwargs) -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=kwargs.pop("model", "llaso-tiny"), **kwargs)
    return caught.value


def test_400s_name_the_problem(client, clips) -> None:
    def user(*parts):
        return [{"role": "user", "content": list(parts)}]

    text = {"type": "text", "text": "What is said?"}
    overflow = _chat_error(client, messages=[{"role": "user", "content": "hello " * 8200}], max_tokens=64)
    assert overflow.status_code == 400 and overflow.code == "context_length_exceeded" and "8192" in overflow.message
    bad_b64 = _chat_error(client, messages=user({"type": "input_audio", "input_audio": {"data": "%%%not base64", "format": "wav"}}, text))
    assert bad_b64.status_code == 400 and bad_b64.code == "invalid_base64"
    assert bad_b64.body["param"] == "messages.0.content.0.input_audio.data"
    not_audio = base64.b64encode(b"this is plain text, not a recording" * 20).decode()
    bad_audio = _chat_error(client, messages=user({"type": "input_audio", "input_audio": {"data": not_audio, "format": "wav"}}, text))
    assert bad_audio.status_code == 400 and bad_audio.code == "invalid_audio"
    remote = _chat_error(client, messages=user({"type": "audio_url", "audio_url": {"url": "https://example.com/a.wav"}}, text))
    assert remote.status_code == 400 and remote.code == "remote_audio_url_refused"
    assert _chat_error(client, messages=user(text), n=2).code == "unsupported_parameter"
    capped = _chat_error(client, messages=user(text), max_tokens=65)
    assert capped.code == "max_tokens_too_large" and "64" in capped.message and "max_tokens" in capped.message
    too_many = _chat_error(client, messages=user(*[audio_part(clips["yes"])] * 4, text))
    assert too_many.code == "too_many_audios" and "max_audios" in too_many.message
    mismatch = _chat_error(client, messages=user(audio_part(clips["yes"], "mp3"), text))
    assert mismatch.code == "audio_format_mismatch"
    unknown = _chat_error(client, model="gpt-4o", messages=user(text))
    assert unknown.status_code == 404 and unknown.code == "model_not_found"


def test_data_url_audio_is_accepted(client, clips, messages, references) -> None:
    url = "data:audio/wav;base64," + b64(clips["hello"])
    reply = client.chat.completions.create(model="llaso-tiny", max_tokens=MAX_TOKENS, messages=[
        {"role": "user", "content": [{"type": "audio_url", "audio_url": {"url": url}},
                                     {"type": "text", "text": "Transcribe the audio."}]}])
    assert reply.choices[0].message.content == references["audio"]["answer"]


def test_rate_limit_429_with_retry_after(server, messages) -> None:
    limited = openai_client(server.url, KEYS["limited"])
    for _ in range(2):
        limited.chat.completions.create(model="llaso-tiny", messages=messages["text"][1], max_tokens=1)
    response = httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEYS['limited']}"},
                          json={"model": "llaso-tiny", "messages": messages["text"][1], "max_tokens": 1})
    assert response.status_code == 429 and response.json()["error"]["code"] == "rate_limit_requests"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    # Other keys are not affected.
    assert openai_client(server.url, KEYS["chatter"]).chat.completions.create(
        model="llaso-tiny", messages=messages["text"][1], max_tokens=1).choices


def test_queue_full_429_never_an_unbounded_backlog(server) -> None:
    wait_idle(server)
    body = {"model": "llaso-tiny", "messages": [{"role": "user", "content": STORY}], "max_tokens": 24}

    def one(_):
        return httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {FULL}"},
                          json=body, timeout=120)

    with concurrent.futures.ThreadPoolExecutor(9) as pool:
        replies = list(pool.map(one, range(9)))
    statuses = sorted(r.status_code for r in replies)
    assert set(statuses) == {200, 429}, statuses
    assert statuses.count(200) >= 3  # max_queue
    for reply in replies:
        if reply.status_code == 429:
            assert reply.json()["error"]["code"] == "queue_full" and int(reply.headers["retry-after"]) >= 1


def test_disconnect_cancels_and_frees_the_slot(server) -> None:
    wait_idle(server)
    cancelled = metric(server, "llaso_requests_cancelled_total")
    generated = metric(server, "llaso_completion_tokens_total")
    body = {"model": "llaso-tiny", "messages": [{"role": "user", "content": STORY}], "max_tokens": 64, "stream": True}
    with httpx.Client(timeout=60) as raw:
        with raw.stream("POST", server.url + "/v1/chat/completions", json=body,
                        headers={"Authorization": f"Bearer {FULL}"}) as response:
            lines = response.iter_lines()
            assert next(lines).startswith("data: ")  # the stream has started; now hang up
    # The non-streamed kind: the client gives up while the answer is being generated.
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {FULL}"},
                   json={**body, "stream": False}, timeout=httpx.Timeout(30, read=1.0))
    wait_idle(server)
    deadline = time.monotonic() + 20  # the engine notices a cancellation at its next step
    while metric(server, "llaso_requests_cancelled_total") < cancelled + 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert metric(server, "llaso_requests_cancelled_total") == cancelled + 2
    assert metric(server, "llaso_completion_tokens_total") == generated  # neither ran to its 64 tokens
    assert metric(server, "llaso_queue_depth") == 0


def test_logs_hold_no_content_unless_asked(server, client, caplog) -> None:
    caplog.set_level(logging.INFO, logger="llaso.serve")
    secret = "my bank password is hunter2"
    client.chat.completions.create(model="llaso-tiny", max_tokens=1, messages=[{"role": "user", "content": secret}])
    deadline = time.monotonic() + 5
    while "POST /v1/chat/completions 200" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "POST /v1/chat/completions 200" in caplog.text and "key=cli-1" in caplog.text
    assert "prompt_tokens=" in caplog.text and secret not in caplog.text
    settings = server.app.state.llaso.settings
    settings.log_content = True  # what --log-content sets
    try:
        client.chat.completions.create(model="llaso-tiny", max_tokens=1, messages=[{"role": "user", "content": secret}])
    finally:
        settings.log_content = False
    assert secret in caplog.text
