"""Run the app under uvicorn: refuse unsafe binds, drain on SIGTERM, exit 0."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Iterator

from llaso.serve.keys import KeyStore
from llaso.serve.settings import ServeConfigError, ServeSettings, is_loopback

log = logging.getLogger("llaso.serve")
ABORT_GRACE_S = 3  # after the drain time: for the 503s to reach the clients before uvicorn cancels

NO_KEY_MESSAGE = (
    "refusing to listen on {host} without an API key: anyone who can reach it could use the model. "
    "Create one with `llaso keys add NAME --scopes chat,transcribe --file keys.toml` and pass "
    "`--api-key-file keys.toml` (or pass --api-key KEY / set LLASO_API_KEY), or bind 127.0.0.1"
)


def check_bind(settings: ServeSettings) -> None:
    if is_loopback(settings.host):
        return
    if not KeyStore.build(settings.api_keys, settings.api_key_file).enabled:
        raise ServeConfigError(NO_KEY_MESSAGE.format(host=settings.host))


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ServeConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _configure_logging() -> None:
    logger = logging.getLogger("llaso.serve")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def serve(settings: ServeSettings) -> int:
    """Serve until SIGTERM/SIGINT; in-flight requests get `drain_timeout_s` to finish."""
    import uvicorn

    from llaso.serve.app import create_app

    check_bind(settings)
    _configure_logging()
    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    failure: list[str] = []

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                yield
                # uvicorn re-raises a handled SIGTERM once drained, so the process would die of
                # it; a drained server has done what SIGTERM asks and exits 0.
                captured = getattr(self, "_captured_signals", None)
                if isinstance(captured, list):
                    captured[:] = [s for s in captured if s != signal.SIGTERM]

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # SIGTERM: stop accepting (uvicorn), say "draining" on /health, and when the drain
            # time is up fail what is left with a 503 (streams get an error event and [DONE])
            # just before uvicorn cancels the handlers.
            state.draining = True
            asyncio.get_running_loop().call_later(settings.limits.drain_timeout_s, state.worker.abort)
            await super().shutdown(sockets)

    def fatal(message: str) -> None:
        failure.append(message)
        server.should_exit = True

    app = create_app(settings, on_fatal=fatal)
    state = app.state.llaso
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False,
                            timeout_graceful_shutdown=int(settings.limits.drain_timeout_s + 0.999) + ABORT_GRACE_S,
                            limit_concurrency=settings.limits.max_connections, timeout_keep_alive=5,
                            h11_max_incomplete_event_size=64 * 1024, lifespan="on")
    server = Server(config)
    shown = f"[{host}]" if ":" in host else host
    print(f"llaso serve: {settings.model_name} on http://{shown}:{port} (web page at /, API at /v1)", flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if failure:
        raise ServeConfigError(f"the model could not be loaded: {failure[0]}")
    return 0
