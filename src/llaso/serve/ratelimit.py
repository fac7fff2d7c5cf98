"""Per-key limits on requests and tokens per minute, over a sliding 60 s window."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from llaso.serve.errors import retry_after

WINDOW_S = 60.0


@dataclass
class _Usage:
    requests: deque[float] = field(default_factory=deque)
    tokens: deque[tuple[float, int]] = field(default_factory=deque)
    token_sum: int = 0

    def expire(self, now: float) -> None:
        while self.requests and self.requests[0] <= now - WINDOW_S:
            self.requests.popleft()
        while self.tokens and self.tokens[0][0] <= now - WINDOW_S:
            self.token_sum -= self.tokens.popleft()[1]


class RateLimiter:
    """`admit` before the work (429 with Retry-After when over), `add_tokens` after it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._usage: dict[str, _Usage] = {}
        self._lock = threading.Lock()

    def admit(self, key: str, requests_per_minute: int | None, tokens_per_minute: int | None) -> None:
        if requests_per_minute is None and tokens_per_minute is None:
            return
        with self._lock:
            now = self._clock()
            usage = self._usage.setdefault(key, _Usage())
            usage.expire(now)
            if requests_per_minute is not None and len(usage.requests) >= requests_per_minute:
                wait = usage.requests[0] + WINDOW_S - now
                raise retry_after(429, f"rate limit: {requests_per_minute} requests per minute for key "
                                  f"{key!r} (limit requests_per_minute)", "rate_limit_requests", wait)
            if tokens_per_minute is not None and usage.token_sum >= tokens_per_minute:
                wait = usage.tokens[0][0] + WINDOW_S - now
                raise retry_after(429, f"rate limit: {tokens_per_minute} tokens per minute for key "
                                  f"{key!r} (limit tokens_per_minute)", "rate_limit_tokens", wait)
            usage.requests.append(now)

    def add_tokens(self, key: str, tokens: int) -> None:
        if tokens <= 0:
            return
        with self._lock:
            now = self._clock()
            usage = self._usage.setdefault(key, _Usage())
            usage.expire(now)
            usage.tokens.append((now, tokens))
            usage.token_sum += tokens
