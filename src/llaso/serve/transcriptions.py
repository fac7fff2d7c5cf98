"""POST /v1/audio/transcriptions: OpenAI's transcription API, served by Whisper on the engine thread."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from llaso.serve import audio_input
from llaso.serve.chat import require_content_type
from llaso.serve.errors import ApiError
from llaso.serve.jobs import Failed, Transcribed, TranscribeJob
from llaso.serve.protocol import TranscriptionForm, parse_model
from llaso.serve.state import ServerState, next_event

ENGLISH = ("en", "english")


def segment_dicts(segments: list[Any]) -> list[dict[str, Any]]:
    """OpenAI's verbose_json segments, with the fields we know (no log-probabilities)."""
    return [{"id": i, "seek": int(round(s.start * 100)), "start": round(s.start, 3), "end": round(s.end, 3),
             "text": s.text, "tokens": [], "temperature": 0.0} for i, s in enumerate(segments)]


def render(transcript: Any, response_format: str, duration: float) -> Response:
    from llaso.inference.subtitles import to_srt, to_text, to_vtt

    text = transcript.text or to_text(transcript.segments)
    if response_format == "text":
        return PlainTextResponse(text + "\n" if text else "")
    if response_format == "srt":
        return PlainTextResponse(to_srt(transcript.segments), media_type="application/x-subrip")
    if response_format == "vtt":
        return PlainTextResponse(to_vtt(transcript.segments), media_type="text/vtt")
    if response_format == "verbose_json":
        return JSONResponse({"task": "transcribe", "language": "english", "duration": round(duration, 3),
                             "text": text, "segments": segment_dicts(transcript.segments)})
    return JSONResponse({"text": text})


async def transcriptions(request: Request) -> Response:
    state: ServerState = request.app.state.llaso
    principal = request.state.principal
    require_content_type(request, "multipart/form-data")
    async with request.form(max_files=1, max_fields=16) as form:
        upload = form.get("file")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        if "timestamp_granularities[]" in fields and fields["timestamp_granularities[]"] != "segment":
            raise ApiError(400, "only segment timestamps are available", "unsupported_parameter",
                           param="timestamp_granularities")
        parsed = parse_model(TranscriptionForm, {k: v for k, v in fields.items()
                                                 if k not in ("temperature",)} | _temperature(fields))
        if not isinstance(upload, UploadFile):
            raise ApiError(400, "the form needs a 'file' field with the audio", "missing_field", param="file")
        state.check_transcription_model(parsed.model)
        if parsed.language and parsed.language.lower() not in ENGLISH:
            raise ApiError(400, f"this server's Whisper transcribes English only (language {parsed.language!r} "
                           "asked)", "unsupported_language", param="language")
        state.require_ready()
        state.rate_limit(principal)
        data = await upload.read()
    blob = await anyio.to_thread.run_sync(audio_input.probe, data, None, "file", "file")
    limit = state.limits.max_transcription_seconds
    audio_input.check_seconds(blob.seconds, limit, "file", "max_transcription_seconds", "file")
    audio_input.check_complete(blob, "file")
    state.admit()
    job: TranscribeJob | None = None
    try:
        samples = await anyio.to_thread.run_sync(audio_input.decode, blob, limit, "file")
        duration = len(samples) / 16000
        state.metrics.audio_seconds.labels(route="/v1/audio/transcriptions").inc(duration)
        job = TranscribeJob(loop=asyncio.get_running_loop(), samples=samples, max_seconds=limit)
        state.worker.submit(job)
        event = await next_event(job, request.receive)
        if event is None:
            return Response(status_code=499)
        if isinstance(event, Failed):
            raise event.error
        assert isinstance(event, Transcribed)
        return render(event.transcript, parsed.response_format, duration)
    finally:
        if job is not None:
            job.cancel()
        state.release()


def _temperature(fields: dict[str, str]) -> dict[str, Any]:
    if "temperature" not in fields:
        return {}
    try:
        return {"temperature": float(fields["temperature"])}
    except ValueError:
        raise ApiError(400, f"temperature must be a number (got {fields['temperature'][:20]!r})", "invalid_value",
                       param="temperature") from None
