"""POST /v1/llaso/ask: a question, typed or spoken, answered from the server's documents.

The same pipeline as `llaso ask` (transcribe, retrieve, answer citing passages, or refuse),
run on the engine thread. Not an OpenAI route, so it lives under `/v1/llaso/`; it needs a key
with the `ask` scope. Body: `{"question": "..."}` and/or `{"audio": {"data": BASE64, "format":
"wav"}}`, optional `top_k` (1-10), `mode` ("auto" | "bm25" | "dense" | "fused"), `cascade`,
`max_tokens`. The answer is `Answer.to_dict()` plus `formatted` (the answer and its sources as
`llaso ask` prints them).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from llaso.serve import audio_input
from llaso.serve.chat import require_content_type
from llaso.serve.errors import ApiError
from llaso.serve.jobs import Answered, AskJob, Failed, Finished
from llaso.serve.protocol import parse_json, parse_model
from llaso.serve.state import ServerState, next_event

log = logging.getLogger("llaso.serve.content")


class SpokenQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: str
    format: Literal["wav", "mp3", "flac", "ogg"] | None = None


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str | None = Field(None, max_length=4000)
    audio: SpokenQuestion | None = None
    top_k: int = Field(3, ge=1, le=10)
    mode: Literal["auto", "bm25", "dense", "fused"] = "auto"
    cascade: bool = False
    max_tokens: int | None = Field(None, ge=1)


async def ask_documents(request: Request) -> Response:
    state: ServerState = request.app.state.llaso
    require_content_type(request, "application/json")
    parsed = parse_model(AskRequest, parse_json(await request.body()))
    if parsed.audio is None and not (parsed.question and parsed.question.strip()):
        raise ApiError(400, "give the question as text ('question'), as audio ('audio'), or both", "missing_field",
                       param="question")
    max_tokens = parsed.max_tokens or state.limits.default_max_tokens
    if max_tokens > state.limits.max_tokens:
        raise ApiError(400, f"max_tokens is {max_tokens}; the limit is {state.limits.max_tokens} (max_tokens)",
                       "invalid_value", param="max_tokens")
    state.require_ready()
    state.rate_limit(request.state.principal)
    samples = None
    if parsed.audio is not None:
        data = audio_input.decode_base64(parsed.audio.data, "audio", "audio.data")
        blob = await anyio.to_thread.run_sync(audio_input.probe, data, parsed.audio.format, "audio", "audio.data")
        audio_input.check_seconds(blob.seconds, state.limits.max_audio_seconds, "the question's audio",
                                  "max_audio_seconds", "audio")
        audio_input.check_complete(blob, "audio.data")
    state.admit()
    job: AskJob | None = None
    try:
        if parsed.audio is not None:
            samples = await anyio.to_thread.run_sync(audio_input.decode, blob, state.limits.max_audio_seconds,
                                                     "audio.data")
            state.metrics.audio_seconds.labels(route="/v1/llaso/ask").inc(len(samples) / 16000)
        if state.settings.log_content and parsed.question:
            log.info("ask request: %s", parsed.question[:500])
        job = AskJob(loop=asyncio.get_running_loop(), question=parsed.question, samples=samples,
                     top_k=parsed.top_k, mode=parsed.mode, cascade=parsed.cascade, max_tokens=max_tokens)
        state.worker.submit(job)
        event = await next_event(job, request.receive)
        if event is None or isinstance(event, Finished):
            return Response(status_code=499)
        if isinstance(event, Failed):
            raise event.error
        assert isinstance(event, Answered)
        return JSONResponse({**event.answer.to_dict(), "formatted": event.answer.format()})
    finally:
        if job is not None:
            job.cancel()
        state.release()
