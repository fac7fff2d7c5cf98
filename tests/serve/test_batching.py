"""Dynamic batching: requests that arrive together share one forward, each streams its own
tokens, and greedy answers are the same as when each request runs alone."""

from __future__ import annotations

import concurrent.futures
import json

import httpx
import pytest
from serve_helpers import audio_part, llaso_messages

from llaso.serve.settings import build_settings

pytestmark = pytest.mark.slow

MAX_TOKENS = 16


@pytest.fixture(scope="module")
def conversations(clips):
    """Audio clips of different lengths (so rows are left-padded differently) and text-only turns."""
    prompts = ["Transcribe the audio.", "Which command is spoken? Return only the command word.", "What is said?"]
    audio = [[{"role": "user", "content": [audio_part(clips[name]), {"type": "text", "text": prompt}]}]
             for name, prompt in zip(["hello", "yes", "cat", "note", "hello", "cat"], prompts * 2)]
    text = [[{"role": "user", "content": t}] for t in ["Say hello.", "What is the capital of France? Answer briefly."]]
    return audio + text


@pytest.fixture(scope="module")
def server(thread_server):
    # A long batch window, so that requests sent together are sure to meet in one batch.
    return thread_server(build_settings(max_batch_size=8, batch_wait_ms=300, max_queue=32, max_tokens=MAX_TOKENS))


def _ask(server, messages, stream: bool) -> tuple[str, str]:
    body = {"model": "llaso-tiny", "messages": messages, "max_tokens": MAX_TOKENS, "stream": stream}
    if not stream:
        reply = httpx.post(server.url + "/v1/chat/completions", json=body, timeout=300).json()
        return reply["choices"][0]["message"]["content"], reply["choices"][0]["finish_reason"]
    text, finish = "", None
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=300) as reply:
        for line in reply.iter_lines():
            if line.startswith("data: {"):
                choice = json.loads(line[6:])["choices"][0]
                text += choice["delta"].get("content") or ""
                finish = choice["finish_reason"] or finish
    return text, finish


def _batches(server) -> tuple[float, float]:
    text = httpx.get(server.url + "/metrics").text
    values = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines() if line.startswith("llaso_batch_size_")}
    return values["llaso_batch_size_count"], values["llaso_batch_size_sum"]


def test_engine_rows_do_not_depend_on_their_batch(tiny, conversations) -> None:
    """(Runs before the module's server exists: one owner of the model at a time.)

    The engine underneath: tokens of each row alone and inside batches of 3 and 6 rows
    that mix prompt lengths (left padding), compared token by token."""
    from llaso.generation.sampling import SamplingParams

    encoded = [tiny.encode(llaso_messages(m)) for m in conversations[:6]]
    params = SamplingParams(max_new_tokens=8)

    def decode(batch):
        rows = [[] for _ in batch]
        for step in tiny.engine.stream_batch(batch, params):
            for row, token in zip(rows, step):
                if token is not None:
                    row.append(token)
        return rows

    alone = [decode([item])[0] for item in encoded]
    assert len({len(e.input_ids) for e in encoded}) >= 3  # the rows really are padded differently
    for size in (3, 6):
        together = [row for start in range(0, len(encoded), size) for row in decode(encoded[start:start + size])]
        assert together == alone, f"batch of {size}"


def test_batched_answers_equal_one_at_a_time(server, conversations) -> None:
    alone = [_ask(server, messages, stream=False) for messages in conversations]
    count, total = _batches(server)
    assert (count, total) == (len(conversations), len(conversations))  # each ran in a batch of one

    with concurrent.futures.ThreadPoolExecutor(len(conversations)) as pool:
        together = list(pool.map(lambda pair: _ask(server, pair[1], stream=pair[0] % 2 == 0),
                                 enumerate(conversations)))
    count2, total2 = _batches(server)
    batches, rows = count2 - count, total2 - total
    assert rows == len(conversations)
    assert batches <= 3, f"{len(conversations)} requests sent together ran in {batches} batches"  # audio + text groups
    assert together == alone  # same greedy text and finish reason, streamed or not, batched or alone
