"""`create_app(settings, ...)`: the ASGI app of `llaso serve`, engine thread included."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from llaso.serve.errors import ApiError
from llaso.serve.jobs import Admission
from llaso.serve.keys import ApiKey, KeyStore, hash_key
from llaso.serve.metrics import Metrics
from llaso.serve.ratelimit import RateLimiter
from llaso.serve.settings import ServeSettings
from llaso.serve.state import ServerState
from llaso.serve.worker import EngineWorker

log = logging.getLogger("llaso.serve")


def _loader(settings: ServeSettings, given: Any) -> Callable[[], Any]:
    if given is None:
        def load() -> Any:
            from llaso import Llaso

            if settings.threads:
                import torch

                torch.set_num_threads(settings.threads)  # process-wide: the engine thread is its only user
            return Llaso.from_pretrained(settings.model, device=settings.device, dtype=settings.dtype,
                                         encoder_mode="padded" if settings.fidelity else None)
        return load
    return given if callable(given) and not hasattr(given, "engine") else (lambda: given)


def _transcriber_loader(settings: ServeSettings, given: Any) -> Callable[[], Any] | None:
    if given is False:
        return None
    if given is None:
        def load() -> Any:
            from llaso.inference.transcribe import WhisperTranscriber

            return WhisperTranscriber.from_pretrained(settings.whisper, device=settings.device)
        return load
    return given if callable(given) and not hasattr(given, "transcribe") else (lambda: given)


def _error_response(error: ApiError) -> Response:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 400: "invalid_request"}
    message = {404: f"no route {request.url.path}", 405: f"{request.method} is not allowed on {request.url.path}"}
    return _error_response(ApiError(exc.status_code, message.get(exc.status_code, str(exc.detail)),
                                    codes.get(exc.status_code, "http_error"), headers=dict(exc.headers or {})))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    return _error_response(ApiError(500, "internal server error; it has been logged", "internal_error"))


def create_app(settings: ServeSettings, model: Any = None, transcriber: Any = None,
               on_fatal: Callable[[str], None] | None = None) -> Any:
    """The server's ASGI app. `model`: a loaded `Llaso`, a function returning one, or None to
    load `settings.model` on the engine thread (then /health answers 503 until it is ready).
    `transcriber`: the same for Whisper (None: `settings.whisper` or tiny.en; False: none).
    `on_fatal(message)` runs if the model fails to load (the CLI stops the server)."""
    from fastapi import FastAPI
    from starlette.middleware.cors import CORSMiddleware
    from starlette.staticfiles import StaticFiles

    from llaso.serve import ask, chat, middleware, system, transcriptions

    limits = settings.limits
    keys = KeyStore.build(settings.api_keys, settings.api_key_file)
    metrics = Metrics()
    if settings.index is not None and not Path(settings.index).is_file():
        from llaso.serve.settings import ServeConfigError

        raise ServeConfigError(f"--index {settings.index}: no such index file (build one with `llaso index build`)")
    worker = EngineWorker(_loader(settings, model), _transcriber_loader(settings, transcriber), limits, metrics,
                          on_fatal=on_fatal, index_path=settings.index)
    whisper_name = Path(settings.whisper).name if settings.whisper else "whisper-tiny.en"
    state = ServerState(settings=settings, keys=keys, metrics=metrics, limiter=RateLimiter(),
                        admission=Admission(limits.max_queue), worker=worker, whisper_name=whisper_name)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        worker.start()
        try:
            yield
        finally:
            state.draining = True
            # Off the event loop: handlers cancelled by the end of the drain must still run
            # their cleanup (which cancels their jobs) while the engine thread winds down.
            await anyio.to_thread.run_sync(worker.stop, 30.0)

    app = FastAPI(title="llaso", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.llaso = state
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_api_route("/v1/chat/completions", chat.chat_completions, methods=["POST"])
    app.add_api_route("/v1/audio/transcriptions", transcriptions.transcriptions, methods=["POST"])
    app.add_api_route("/v1/llaso/ask", ask.ask_documents, methods=["POST"])
    app.add_api_route("/v1/models", system.list_models, methods=["GET"])
    app.add_api_route("/v1/models/{model:path}", system.get_model, methods=["GET"])
    app.add_api_route("/health", system.health, methods=["GET"])
    app.add_api_route("/metrics", system.metrics, methods=["GET"])
    app.add_api_route("/", system.page, methods=["GET"])
    app.mount("/static", StaticFiles(directory=system.STATIC_DIR), name="static")

    anonymous = ApiKey("anonymous", hash_key(""), requests_per_minute=None, tokens_per_minute=None)
    # Outermost first: the access log sees every answer, CORS answers preflights before keys
    # are asked for, keys are checked before a body is read.
    app.add_middleware(middleware.BodyLimit, max_bytes=limits.max_body_bytes, timeout_s=limits.body_timeout_s)
    app.add_middleware(middleware.Auth, keys=keys, anonymous=anonymous)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"], max_age=600)
    app.add_middleware(middleware.AccessLog, metrics=metrics)
    return app
