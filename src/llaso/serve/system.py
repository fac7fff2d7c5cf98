"""GET routes: models, health, metrics, and the web page."""

from __future__ import annotations

import time
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from llaso.serve.errors import ApiError
from llaso.serve.state import ServerState

STATIC_DIR = Path(__file__).parent / "static"
# The page loads nothing from anywhere else: scripts, styles and connections stay on this origin.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "media-src 'self' blob: data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")
STARTED = int(time.time())


def _model_card(name: str) -> dict:
    return {"id": name, "object": "model", "created": STARTED, "owned_by": "llaso"}


async def list_models(request: Request) -> Response:
    state: ServerState = request.app.state.llaso
    return JSONResponse({"object": "list", "data": [_model_card(state.settings.model_name),
                                                    _model_card(state.whisper_name)]})


async def get_model(request: Request) -> Response:
    state: ServerState = request.app.state.llaso
    name = request.path_params["model"]
    if name not in (state.settings.model_name, state.whisper_name):
        raise ApiError(404, f"model {name!r} is not served here", "model_not_found", param="model")
    return JSONResponse(_model_card(name))


async def health(request: Request) -> Response:
    state: ServerState = request.app.state.llaso
    worker = state.worker
    body = {"status": "ok", "model": state.settings.model_name, "auth_required": state.keys.enabled}
    if state.draining:
        return JSONResponse(body | {"status": "draining"}, status_code=503)
    if worker.state == "loading":
        return JSONResponse(body | {"status": "loading"}, status_code=503, headers={"Retry-After": "5"})
    if worker.state != "ready":
        return JSONResponse(body | {"status": worker.state, "error": worker.error}, status_code=503)
    return JSONResponse(body)


async def metrics(request: Request) -> Response:
    state: ServerState = request.app.state.llaso
    return Response(state.metrics.render(), media_type=state.metrics.content_type)


async def page(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html",
                        headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"})
