"""POST /v1/chat/completions: OpenAI's chat API over the engine thread, streamed or whole."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from llaso.serve import audio_input
from llaso.serve.errors import ApiError
from llaso.serve.jobs import Accepted, ChatJob, Delta, Failed, Finished
from llaso.serve.protocol import (
    SSE_DONE,
    ChatCompletionRequest,
    Conversation,
    build_conversation,
    chat_completion,
    chunk,
    completion_id,
    decoding_from,
    parse_json,
    parse_model,
    sse_error,
    usage,
)
from llaso.serve.state import ServerState, next_event

log = logging.getLogger("llaso.serve.content")


def require_content_type(request: Request, expected: str) -> None:
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given != expected:
        raise ApiError(415, f"Content-Type must be {expected} (got {given or 'none'})", "unsupported_media_type")


class SSEResponse(StreamingResponse):
    """A stream whose `on_close` runs however it ends, even when the client left before the
    first byte (an async generator that never started would not run its `finally`)."""

    def __init__(self, content: AsyncIterator[str], on_close: Callable[[], None]) -> None:
        super().__init__(content, media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self._on_close = on_close

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


async def _decode_audio(state: ServerState, conversation: Conversation) -> float:
    """Check durations (from headers) and completeness, then decode each part off the loop."""
    limits = state.limits
    total = sum(blob.seconds for _, blob, _ in conversation.audio_parts)
    audio_input.check_seconds(total, limits.max_audio_seconds, "the request's audio", "max_audio_seconds", "messages")
    for part, blob, param in conversation.audio_parts:
        audio_input.check_complete(blob, param)
        samples = await anyio.to_thread.run_sync(audio_input.decode, blob, limits.max_audio_seconds, param)
        part["audio"] = samples
    return total


async def chat_completions(request: Request) -> Response:
    state: ServerState = request.app.state.llaso
    principal = request.state.principal
    require_content_type(request, "application/json")
    body = await request.body()
    parsed = parse_model(ChatCompletionRequest, parse_json(body))
    state.check_chat_model(parsed.model)
    decoding = decoding_from(parsed, state.limits)
    state.require_ready()
    state.rate_limit(principal)
    conversation = await anyio.to_thread.run_sync(build_conversation, parsed.messages, state.limits)
    state.admit()
    handed_over = False
    job: ChatJob | None = None
    try:
        audio_seconds = await _decode_audio(state, conversation)
        if audio_seconds:
            state.metrics.audio_seconds.labels(route="/v1/chat/completions").inc(audio_seconds)
        if state.settings.log_content:
            log.info("chat request: %s", conversation.text_for_log())
        stream = bool(parsed.stream)
        job = ChatJob(loop=asyncio.get_running_loop(), messages=conversation.messages, decoding=decoding,
                      has_audio=conversation.has_audio, stream=stream)
        state.worker.submit(job)
        first = await next_event(job, request.receive)
        if first is None:
            return Response(status_code=499)
        if isinstance(first, Failed):
            raise first.error
        assert isinstance(first, Accepted)
        if stream:
            include_usage = bool(parsed.stream_options and parsed.stream_options.include_usage)
            handed_over = True
            return SSEResponse(_sse(state, request, job, parsed.model, first.prompt_tokens, include_usage),
                               on_close=lambda: _close(state, job))
        event = await next_event(job, request.receive)
        while isinstance(event, Delta):
            event = await next_event(job, request.receive)
        if event is None:
            return Response(status_code=499)
        if isinstance(event, Failed):
            raise event.error
        assert isinstance(event, Finished)
        _account(state, request, principal.name, first.prompt_tokens, event.completion_tokens)
        if state.settings.log_content:
            log.info("chat answer: %s", event.content)
        return JSONResponse(chat_completion(completion_id(), parsed.model, event.content, event.finish_reason,
                                            first.prompt_tokens, event.completion_tokens))
    finally:
        if not handed_over:
            if job is not None:
                job.cancel()
            state.release()


def _close(state: ServerState, job: ChatJob) -> None:
    job.cancel()  # a no-op when it finished; stops decoding when the client left mid-stream
    state.release()


def _account(state: ServerState, request: Request, key_name: str, prompt: int, completion: int) -> None:
    request.state.tokens = (prompt, completion)
    state.limiter.add_tokens(key_name, prompt + completion)


async def _sse(state: ServerState, request: Request, job: ChatJob, model: str, prompt_tokens: int,
               include_usage: bool) -> AsyncIterator[str]:
    cid, created = completion_id(), int(time.time())
    yield chunk(cid, model, created, {"role": "assistant", "content": ""}, include_usage=include_usage)
    pieces: list[str] = []
    while True:
        event = await job.events.get()
        if isinstance(event, Delta):
            pieces.append(event.text)
            yield chunk(cid, model, created, {"content": event.text}, include_usage=include_usage)
        elif isinstance(event, Finished):
            _account(state, request, request.state.principal.name, prompt_tokens, event.completion_tokens)
            if state.settings.log_content:
                log.info("chat answer: %s", "".join(pieces))
            yield chunk(cid, model, created, {}, finish_reason=event.finish_reason, include_usage=include_usage)
            if include_usage:
                yield chunk(cid, model, created, None, with_usage=usage(prompt_tokens, event.completion_tokens))
            break
        elif isinstance(event, Failed):
            yield sse_error(event.error)
            break
    yield SSE_DONE
