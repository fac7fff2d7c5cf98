"""ASGI layers around the routes: access log and metrics, keys and scopes, body limits.

Plain ASGI rather than Starlette's BaseHTTPMiddleware, which would buffer streamed answers
and hide client disconnects from the routes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from llaso.serve.errors import ApiError, send_error
from llaso.serve.keys import SCOPES, ApiKey, KeyStore
from llaso.serve.metrics import Metrics, route_label

log = logging.getLogger("llaso.serve.access")

PUBLIC_PATHS = ("/health", "/", "/favicon.ico")
PUBLIC_PREFIXES = ("/static/",)
ROUTE_SCOPES = {"/v1/chat/completions": "chat", "/v1/audio/transcriptions": "transcribe", "/v1/models": "models",
                "/v1/llaso/ask": "ask", "/metrics": "metrics"}
QUIET_ROUTES = ("/health", "/metrics", "/static")  # polled: logged at debug level
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY")]


def required_scope(path: str) -> str | None:
    if path in ROUTE_SCOPES:
        return ROUTE_SCOPES[path]
    if path.startswith("/v1/models/"):
        return "models"
    return None


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class AccessLog:
    """One log line per request (method, route, status, latency, tokens, key name: no content),
    the request metrics, and headers every response carries."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        state = scope.setdefault("state", {})
        status = {"code": 500, "started": False}

        async def send_wrapper(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["started"] = message["status"], True
                message = dict(message, headers=list(message.get("headers", [])) + SECURITY_HEADERS)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            if not status["started"]:
                await send_error(send_wrapper, ApiError(500, "internal server error; it has been logged", "internal_error"))
            log.exception("unhandled error on %s %s", scope.get("method"), route_label(scope.get("path", "")))
        finally:
            route = route_label(scope.get("path", ""))
            elapsed = time.perf_counter() - began
            code = status["code"] if status["started"] else 499
            self.metrics.requests.labels(route=route, status=str(code)).inc()
            self.metrics.latency.labels(route=route).observe(elapsed)
            principal = state.get("principal")
            tokens = state.get("tokens")
            level = logging.DEBUG if route in QUIET_ROUTES and code < 400 else logging.INFO
            log.log(level, "%s %s %s %.0fms key=%s%s", scope.get("method"), route, code, elapsed * 1000,
                     principal.name if principal else "-",
                     f" prompt_tokens={tokens[0]} completion_tokens={tokens[1]}" if tokens else "")


class Auth:
    """Bearer keys on every route but /health and the page; 401 without or with a wrong key,
    403 with a key that lacks the route's scope."""

    def __init__(self, app: Any, keys: KeyStore, anonymous: ApiKey) -> None:
        self.app = app
        self.keys = keys
        self.anonymous = anonymous

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        state = scope.setdefault("state", {})
        if not self.keys.enabled or is_public(path):
            state["principal"] = self.anonymous if not self.keys.enabled else None
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope.get("headers", []) if k == b"authorization"), None)
        challenge = {"WWW-Authenticate": 'Bearer realm="llaso"'}
        if header is None:
            await send_error(send, ApiError(401, "this server needs an API key: send 'Authorization: Bearer KEY'",
                                            "missing_api_key", headers=challenge))
            return
        scheme, _, token = header.decode("latin-1").strip().partition(" ")
        key = self.keys.match(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if key is None:
            await send_error(send, ApiError(401, "invalid API key", "invalid_api_key", headers=challenge))
            return
        state["principal"] = key
        needed = required_scope(path)
        if needed is not None and needed not in key.scopes:
            await send_error(send, ApiError(403, f"key {key.name!r} lacks the {needed!r} scope this route needs "
                                            f"(it has: {', '.join(s for s in SCOPES if s in key.scopes)})",
                                            "insufficient_scope"))
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """413 as soon as the body passes `max_bytes` (from Content-Length, else while it streams
    in), 408 when it takes longer than `timeout_s` to arrive."""

    def __init__(self, app: Any, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    def _too_large(self, size: str) -> ApiError:
        return ApiError(413, f"the request body is {size}; the limit is {self.max_bytes} bytes (max_body_bytes)",
                        "body_too_large")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await send_error(send, ApiError(400, "Content-Length is not a number", "invalid_request"))
                return
            if declared > self.max_bytes:
                await send_error(send, self._too_large(f"{declared} bytes"))
                return
        received = 0
        done = False
        deadline = time.monotonic() + self.timeout_s

        async def limited_receive() -> dict:
            nonlocal received, done
            if done:
                return await receive()
            remaining = deadline - time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.001, remaining))
            except TimeoutError:
                raise ApiError(408, f"the request body took more than {self.timeout_s:g} s to arrive "
                               "(limit body_timeout_s)", "body_timeout") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large(f"over {self.max_bytes} bytes")
                done = not message.get("more_body", False)
            else:
                done = True
            return message

        await self.app(scope, limited_receive, send)
