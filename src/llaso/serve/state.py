"""What the routes share: settings, keys, limits, metrics and the engine thread."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from llaso.serve.errors import ApiError, retry_after
from llaso.serve.jobs import Admission, Event, Job
from llaso.serve.keys import ApiKey, KeyStore
from llaso.serve.metrics import Metrics
from llaso.serve.ratelimit import RateLimiter
from llaso.serve.settings import ServeSettings
from llaso.serve.worker import EngineWorker

WHISPER_ALIASES = ("whisper-1",)


@dataclass
class ServerState:
    settings: ServeSettings
    keys: KeyStore
    metrics: Metrics
    limiter: RateLimiter
    admission: Admission
    worker: EngineWorker
    whisper_name: str
    draining: bool = False

    @property
    def limits(self) -> Any:
        return self.settings.limits

    def require_ready(self) -> None:
        if self.draining:
            raise retry_after(503, "the server is shutting down", "shutting_down", 5)
        if self.worker.state == "loading":
            raise retry_after(503, "the model is still loading", "model_loading", 5)
        if self.worker.state != "ready":
            raise ApiError(503, f"the model is not available ({self.worker.error or self.worker.state})",
                           "model_unavailable")

    def check_chat_model(self, name: str) -> None:
        if name != self.settings.model_name:
            raise ApiError(404, f"model {name!r} is not served here; this server serves "
                           f"{self.settings.model_name!r} (see GET /v1/models)", "model_not_found", param="model")

    def check_transcription_model(self, name: str) -> None:
        if name not in (self.whisper_name, self.settings.model_name, *WHISPER_ALIASES):
            raise ApiError(404, f"model {name!r} is not served here; transcriptions use {self.whisper_name!r} "
                           "(also accepted: 'whisper-1' and the chat model's name)", "model_not_found", param="model")

    def rate_limit(self, key: ApiKey) -> None:
        rpm = key.requests_per_minute or self.limits.requests_per_minute
        tpm = key.tokens_per_minute or self.limits.tokens_per_minute
        self.limiter.admit(key.name, rpm, tpm)

    def admit(self) -> None:
        self.admission.enter(self.worker.retry_seconds())
        self.metrics.in_flight.set(self.admission.count)

    def release(self) -> None:
        self.admission.leave()
        self.metrics.in_flight.set(self.admission.count)


async def next_event(job: Job, receive: Any | None) -> Event | None:
    """The job's next event, or None when the client disconnected first (the job is cancelled)."""
    if receive is None:
        return await job.events.get()
    getter = asyncio.ensure_future(job.events.get())
    gone = asyncio.ensure_future(_disconnect(receive))
    try:
        done, _ = await asyncio.wait({getter, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (getter, gone):
            if not task.done():
                task.cancel()
    if getter in done:
        return getter.result()
    job.cancel()
    return None


async def _disconnect(receive: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
