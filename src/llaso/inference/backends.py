"""Answering batches of conversations: with our model, or with any OpenAI-compatible endpoint.

`llaso run` and `llaso eval run` take either; the endpoint receives audio as base64 WAV
`input_audio` parts (a vLLM server, `llaso serve`, another lab's API).
"""

from __future__ import annotations

import base64
import io
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from llaso.data.runner import Answer
from llaso.errors import LlasoError
from llaso.generation.sampling import SamplingParams


class Backend(Protocol):
    """Answers a batch of chat conversations, one Answer each, in order."""

    def answer(self, conversations: Sequence[list[dict[str, Any]]]) -> list[Answer]: ...

    def close(self) -> None: ...


class ModelBackend:
    """Our model through the Python API (`Llaso.chat_batch`)."""

    def __init__(self, model: Any, params: SamplingParams, batch_size: int = 8) -> None:
        self._model = model
        self._params = params
        self._batch_size = batch_size

    def answer(self, conversations: Sequence[list[dict[str, Any]]]) -> list[Answer]:
        results = self._model.chat_batch(list(conversations), self._params, batch_size=self._batch_size)
        return [Answer(r.text, r.error) for r in results]

    def close(self) -> None:
        pass


class EndpointError(LlasoError):
    """The endpoint is unreachable or keeps failing; the run stops and can be resumed."""


class EndpointBackend:
    """Any OpenAI-compatible chat endpoint.

    Requests of a batch run concurrently. Transient failures are retried with backoff and
    then stop the run (it resumes later); a request the server rejects (HTTP 4xx) fails
    that sample only.
    """

    def __init__(self, endpoint: str, api_model: str, params: SamplingParams, *, concurrency: int = 8,
                 api_key_env: str = "LLASO_API_KEY", timeout_s: float = 300.0, max_retries: int = 4,
                 backoff_s: float = 1.0) -> None:
        from openai import OpenAI

        self._endpoint = endpoint
        self._api_model = api_model
        self._params = params
        self._max_retries = max_retries
        self._backoff_s = backoff_s
        api_key = os.environ.get(api_key_env) or "no-key"
        self._client = OpenAI(base_url=endpoint, api_key=api_key, max_retries=0, timeout=timeout_s)
        self._pool = ThreadPoolExecutor(max(1, concurrency))

    def answer(self, conversations: Sequence[list[dict[str, Any]]]) -> list[Answer]:
        return list(self._pool.map(self._one, conversations))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()

    def _one(self, messages: list[dict[str, Any]]) -> Answer:
        import openai

        try:
            payload = [openai_message(m) for m in messages]
        except LlasoError as exc:
            return Answer(None, str(exc))
        delay = self._backoff_s
        for attempt in range(self._max_retries + 1):
            try:
                reply = self._client.chat.completions.create(
                    model=self._api_model, messages=payload,  # type: ignore[arg-type]
                    max_tokens=self._params.max_new_tokens, temperature=self._params.temperature,
                    top_p=self._params.top_p, seed=self._params.seed,
                )
                return Answer(reply.choices[0].message.content or "")
            except (openai.RateLimitError, openai.InternalServerError,
                    openai.APIConnectionError, openai.APITimeoutError) as exc:
                if attempt == self._max_retries:
                    raise EndpointError(f"endpoint {self._endpoint} keeps failing ({exc}); "
                                        "rerun the same command to resume") from exc
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
            except openai.APIStatusError as exc:
                return Answer(None, f"endpoint rejected the request (HTTP {exc.status_code}): {exc.message}")
        raise AssertionError("unreachable")


def openai_message(message: dict[str, Any]) -> dict[str, Any]:
    """A llaso chat message in OpenAI's shape: audio parts become base64 WAV `input_audio`."""
    content = message["content"]
    if isinstance(content, str):
        return {"role": message["role"], "content": content}
    parts = []
    for part in content:
        if part.get("type") == "text":
            parts.append({"type": "text", "text": part["text"]})
        elif part.get("type") == "audio":
            parts.append({"type": "input_audio", "input_audio": {"data": wav_base64(part), "format": "wav"}})
        else:
            raise LlasoError(f"unsupported content part {part.get('type')!r}")
    return {"role": message["role"], "content": parts}


def wav_base64(part: dict[str, Any]) -> str:
    """An audio part decoded to 16 kHz mono and re-encoded as 16-bit WAV, base64."""
    import soundfile as sf

    from llaso.audio import load_audio

    source = part["path"] if "path" in part else part["audio"]
    samples = load_audio(source, source_rate=part.get("sampling_rate"))
    buffer = io.BytesIO()
    sf.write(buffer, samples, 16000, format="WAV", subtype="PCM_16")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
