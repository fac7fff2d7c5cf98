"""The app without a model (its engine thread not started): loading state, CORS allow-list,
keys on unknown routes, error shapes. Fast: httpx talks to the ASGI app in-process."""

from __future__ import annotations

import httpx
import pytest

from llaso.serve.app import create_app
from llaso.serve.settings import build_settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the server runs on asyncio (uvicorn)


def _client(**settings) -> httpx.AsyncClient:
    app = create_app(build_settings(**settings), model=lambda: None, transcriber=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


@pytest.mark.anyio
async def test_503_while_loading_with_retry_after() -> None:
    async with _client() as client:
        health = await client.get("/health")
        assert health.status_code == 503 and health.json()["status"] == "loading"
        reply = await client.post("/v1/chat/completions", json={"model": "llaso-tiny", "messages": [
            {"role": "user", "content": "hi"}]})
        assert reply.status_code == 503 and reply.json()["error"]["code"] == "model_loading"
        assert reply.headers["retry-after"] == "5"
        bad = await client.post("/v1/chat/completions", content=b"{", headers={"Content-Type": "application/json"})
        assert bad.status_code == 400  # bad input is refused even before the model is there


@pytest.mark.anyio
async def test_cors_allow_list() -> None:
    async with _client(cors_origins=["https://app.example"]) as client:
        allowed = await client.options("/v1/chat/completions", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        other = await client.options("/v1/chat/completions", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in other.headers


@pytest.mark.anyio
async def test_keys_everywhere_but_health_and_page() -> None:
    async with _client(api_keys=["k1"]) as client:
        for path in ("/v1/models", "/metrics", "/nothing/here", "/v1/models/llaso-tiny"):
            reply = await client.get(path)
            assert reply.status_code == 401, path
            assert set(reply.json()["error"]) == {"message", "type", "param", "code"}
        assert (await client.get("/health")).status_code == 503  # public (and still loading)
        assert (await client.get("/")).status_code == 200
        assert (await client.get("/static/style.css")).status_code == 200
        wrong_scheme = await client.get("/v1/models", headers={"Authorization": "Basic k1"})
        assert wrong_scheme.status_code == 401
        ok = await client.get("/v1/models", headers={"Authorization": "Bearer k1"})
        assert ok.status_code == 200 and ok.json()["data"][0]["id"] == "llaso-tiny"
        missing = await client.get("/v1/models/gpt-4", headers={"Authorization": "bearer k1"})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"
        page = await client.get("/")
        assert "http://" not in page.text and "https://" not in page.text  # no CDN, nothing remote
        for name in ("app.js", "style.css", "recorder-worklet.js"):
            asset = (await client.get(f"/static/{name}")).text
            assert "http://" not in asset.replace("http://127.0.0.1", "") and "https://" not in asset, name
