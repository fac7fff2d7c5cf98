"""Per-key rate limits over a sliding minute."""

from __future__ import annotations

import pytest

from llaso.serve.errors import ApiError
from llaso.serve.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_requests_per_minute_slide_and_say_when() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    for _ in range(3):
        limiter.admit("a", 3, None)
        clock.now += 10
    with pytest.raises(ApiError) as refused:
        limiter.admit("a", 3, None)
    assert refused.value.status == 429 and refused.value.code == "rate_limit_requests"
    assert refused.value.headers["Retry-After"] == "30"  # the first request leaves the window at +60 s
    limiter.admit("b", 3, None)  # per key
    clock.now += 30
    limiter.admit("a", 3, None)


def test_tokens_per_minute() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    limiter.admit("a", None, 100)
    limiter.add_tokens("a", 120)
    with pytest.raises(ApiError) as refused:
        limiter.admit("a", None, 100)
    assert refused.value.code == "rate_limit_tokens" and "tokens_per_minute" in refused.value.message
    clock.now += 61
    limiter.admit("a", None, 100)
    limiter.admit("unlimited", None, None)
