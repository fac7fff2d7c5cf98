"""Work handed from request handlers (the event loop) to the engine thread, and back.

A job carries its inputs one way and a queue of events the other: the engine thread posts
each event onto the loop with `call_soon_threadsafe`, so handlers only ever `await` them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llaso.serve.errors import ApiError
from llaso.serve.protocol import Decoding


@dataclass
class Accepted:
    """The prompt fits: decoding starts (`prompt_tokens` counts audio tokens too)."""

    prompt_tokens: int


@dataclass
class Delta:
    text: str


@dataclass
class Finished:
    finish_reason: str  # "stop", "length" or "cancelled"
    completion_tokens: int
    content: str


@dataclass
class Failed:
    error: ApiError


@dataclass
class Transcribed:
    transcript: Any  # llaso.inference.transcribe.Transcript


@dataclass
class Answered:
    answer: Any  # llaso.features.retrieval.Answer


Event = Accepted | Delta | Finished | Failed | Transcribed | Answered


@dataclass(eq=False)
class Job:
    loop: asyncio.AbstractEventLoop
    events: asyncio.Queue = field(default_factory=asyncio.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    submitted_at: float = field(default_factory=time.monotonic)

    def emit(self, event: Event) -> None:
        """Called from the engine thread."""
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, event)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            self.cancelled.set()

    def cancel(self) -> None:
        self.cancelled.set()


@dataclass(eq=False)
class ChatJob(Job):
    messages: list[dict[str, Any]] = field(default_factory=list)
    decoding: Decoding | None = None
    has_audio: bool = False
    stream: bool = False  # only streamed jobs get Delta events

    def batch_key(self) -> tuple:
        """Jobs with equal keys may share one `stream_batch` call.

        Audio and text-only conversations never share one (llaso-tiny answers text on its base
        LLM, and `stream_batch` refuses a mixed batch). Greedy rows batch freely; sampled rows
        share a random generator, so a request with a seed decodes alone to stay reproducible.
        """
        d = self.decoding
        assert d is not None
        if d.greedy:
            sampling: tuple = ("greedy",)
        elif d.seed is not None:
            sampling = ("seeded", id(self))
        else:
            sampling = ("sampled", d.temperature, d.top_p)
        return (self.has_audio, *sampling)


@dataclass(eq=False)
class TranscribeJob(Job):
    samples: np.ndarray | None = None
    max_seconds: float = 600.0


@dataclass(eq=False)
class AskJob(Job):
    """A question (text, or spoken samples at 16 kHz) answered from the server's index."""

    question: str | None = None
    samples: np.ndarray | None = None
    top_k: int = 3
    mode: str = "auto"
    cascade: bool = False
    max_tokens: int = 256


class Admission:
    """A bounded count of admitted requests (waiting + decoding): past it, 429 with Retry-After."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.count = 0
        self._lock = threading.Lock()

    def enter(self, retry_seconds: float) -> None:
        from llaso.serve.errors import retry_after

        with self._lock:
            if self.count >= self.capacity:
                raise retry_after(429, f"the server is busy: {self.capacity} requests are queued or running "
                                  f"(limit max_queue); retry shortly", "queue_full", retry_seconds)
            self.count += 1

    def leave(self) -> None:
        with self._lock:
            self.count = max(0, self.count - 1)
