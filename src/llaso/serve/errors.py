"""Errors in OpenAI's wire shape: `{"error": {"message", "type", "param", "code"}}`.

Every refusal the server makes (bad input, a limit, a missing key, a full queue) is an
`ApiError`, so clients written for OpenAI read it the same way whatever went wrong.
"""

from __future__ import annotations

import json
from typing import Any

# OpenAI's `type` values, by HTTP status.
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "server_error",
}


class ApiError(Exception):
    """A refusal with its HTTP status; `code` is a short string a client can branch on."""

    def __init__(self, status: int, message: str, code: str, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = dict(headers or {})

    @property
    def type(self) -> str:
        return _TYPES.get(self.status, "server_error" if self.status >= 500 else "invalid_request_error")

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def body_bytes(self) -> bytes:
        return json.dumps(self.body()).encode("utf-8")


def retry_after(status: int, message: str, code: str, seconds: float) -> ApiError:
    """A 429/503 that tells the client when to come back (whole seconds, at least 1)."""
    wait = max(1, int(seconds + 0.999))
    return ApiError(status, message, code, headers={"Retry-After": str(wait)})


async def send_error(send: Any, error: ApiError) -> None:
    """Answer an ASGI request with `error` (for middleware, before any route runs)."""
    body = error.body_bytes()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
