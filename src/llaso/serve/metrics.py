"""Prometheus metrics of one server (its own registry: two apps in a process never mix)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Labels are route templates, never raw paths: a scan of random URLs must not grow the registry.
KNOWN_ROUTES = ("/v1/chat/completions", "/v1/audio/transcriptions", "/v1/models", "/health", "/metrics", "/")


def route_label(path: str) -> str:
    if path in KNOWN_ROUTES:
        return path
    if path.startswith("/v1/models/"):
        return "/v1/models/{model}"
    if path.startswith("/static/"):
        return "/static"
    return "other"


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("llaso_requests", "HTTP requests by route and status", ["route", "status"], registry=r)
        self.latency = Histogram("llaso_request_duration_seconds", "Time from request to the end of the response",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.ttft = Histogram("llaso_time_to_first_token_seconds", "Time from admission to the first generated token",
                              buckets=TTFT_BUCKETS, registry=r)
        self.queue_depth = Gauge("llaso_queue_depth", "Requests waiting for the engine", registry=r)
        self.in_flight = Gauge("llaso_requests_in_flight", "Requests admitted (waiting or decoding)", registry=r)
        self.prompt_tokens = Counter("llaso_prompt_tokens", "Prompt tokens, audio tokens included", registry=r)
        self.completion_tokens = Counter("llaso_completion_tokens", "Generated tokens", registry=r)
        self.audio_seconds = Counter("llaso_audio_seconds", "Seconds of audio received", ["route"], registry=r)
        self.batch_size = Histogram("llaso_batch_size", "Conversations decoded together",
                                    buckets=(1, 2, 4, 8, 16, 32, 64), registry=r)
        self.cancelled = Counter("llaso_requests_cancelled", "Generations stopped because the client left", registry=r)
        self.engine_errors = Counter("llaso_engine_errors", "Batches that failed inside the engine", registry=r)
        self.ready = Gauge("llaso_model_ready", "1 once the model is loaded and serving", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
