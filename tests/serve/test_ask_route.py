"""POST /v1/llaso/ask on a real server over loopback: questions typed or spoken, answered from
an index built here, behind the `ask` scope."""

from __future__ import annotations

import base64

import httpx
import pytest

from llaso.serve.keys import add_key
from llaso.serve.settings import build_settings

pytestmark = pytest.mark.slow

DOCS = {
    "lighthouse.txt": "The harbour lighthouse was built in 1887 from granite blocks.\n"
                      "Its lamp was electrified in 1921 and it still guides the ferries.\n",
    "bakery.md": "# The corner bakery\n\nThe bakery opens at seven and is closed on Mondays.\n",
}


@pytest.fixture(scope="module")
def index_file(tmp_path_factory):
    from llaso.features.retrieval import PassageIndex

    root = tmp_path_factory.mktemp("ask-docs")
    for name, text in DOCS.items():
        (root / name).write_text(text, encoding="utf-8")
    with PassageIndex.create(root / "index.sqlite") as index:
        index.add([root])
    return root / "index.sqlite"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    path = tmp_path_factory.mktemp("ask-keys") / "keys.toml"
    return path, add_key(path, "reader", frozenset({"ask"})), add_key(path, "talker", frozenset({"chat"}))


@pytest.fixture(scope="module")
def server(thread_server, index_file, keys):
    return thread_server(build_settings(index=index_file, api_key_file=keys[0]))


def _post(server, body, key):
    return httpx.post(f"{server.url}/v1/llaso/ask", json=body, headers={"Authorization": f"Bearer {key}"},
                      timeout=300)


def test_typed_question_is_answered_from_the_documents_with_its_sources(server, keys):
    reply = _post(server, {"question": "When was the harbour lighthouse built?", "max_tokens": 32}, keys[1])
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["passages"][0]["path"].endswith("lighthouse.txt") and body["relevance"] >= body["min_relevance"]
    assert body["pipeline"] == "lslm" and "generate" in body["seconds"] and body["formatted"].strip()
    assert body["refused"] or body["answer"].strip()


def test_unrelated_question_is_refused_without_guessing(server, keys):
    body = _post(server, {"question": "What is the interest rate of the central bank?"}, keys[1]).json()
    assert body["refused"] and body["refusal_reason"] == "retrieval" and not body["citations"]


def test_spoken_question_is_transcribed_first(server, keys, speak):
    wav = speak("When was the lighthouse built?")
    audio = {"data": base64.b64encode(wav.read_bytes()).decode(), "format": "wav"}
    body = _post(server, {"audio": audio, "max_tokens": 24}, keys[1]).json()
    assert "lighthouse" in body["question"].lower()
    assert body["passages"] and body["passages"][0]["path"].endswith("lighthouse.txt")


def test_scope_body_and_index_are_checked(server, keys, thread_server):
    assert _post(server, {"question": "When was it built?"}, keys[2]).status_code == 403  # chat-only key
    assert httpx.post(f"{server.url}/v1/llaso/ask", json={"question": "x"}).status_code == 401
    for body, param in (({}, "question"), ({"question": "x", "top_k": 99}, "top_k"),
                        ({"question": "x", "url": "http://example.com"}, "url"),
                        ({"audio": {"data": "not base64!"}}, "audio.data")):
        reply = _post(server, body, keys[1])
        assert reply.status_code == 400 and param in (reply.json()["error"].get("param") or ""), reply.text
    bare = thread_server(build_settings())
    reply = httpx.post(f"{bare.url}/v1/llaso/ask", json={"question": "When was it built?"}, timeout=60)
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "index_unavailable"
