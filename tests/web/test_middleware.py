"""ASGI middleware in isolation: concurrency limit, body limit on streamed bodies, headers."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from cadenza.web.middleware import BodySizeLimitMiddleware, ConcurrencyLimitMiddleware, SecurityHeadersMiddleware


def run_on_own_loop(coroutine):
    """``asyncio.run`` in a thread of its own: a session's Playwright (sync API) keeps a loop running on the main
    thread once a browser test has run in this process."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _ok(scope, receive, send):
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def test_concurrency_limit_holds_and_everyone_is_served():
    active = peak = 0

    async def slow(scope, receive, send):
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.02)
        active -= 1
        await _ok(scope, receive, send)

    app = ConcurrencyLimitMiddleware(slow, max_requests=2)

    async def main():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await asyncio.gather(*(client.get(f"/x{i}") for i in range(8)))

    responses = run_on_own_loop(main())
    assert [r.status_code for r in responses] == [200] * 8
    assert peak == 2


@pytest.mark.parametrize("declared", [True, False])
def test_body_limit_refuses_oversize_bodies_declared_or_streamed(declared):
    app = BodySizeLimitMiddleware(_ok, max_body_bytes=1000)

    async def body():
        for _ in range(5):
            yield b"z" * 400

    async def main():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            content = b"z" * 2000 if declared else body()
            small = await client.post("/u", content=b"z" * 999)
            return small, await client.post("/u", content=content)

    small, big = run_on_own_loop(main())
    assert small.status_code == 200
    assert big.status_code == 413 and "1000 bytes" in big.text


def test_security_headers_do_not_override_a_route_choice():
    async def own_cache(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"cache-control", b"max-age=60")]})
        await send({"type": "http.response.body", "body": b""})

    async def main():
        transport = httpx.ASGITransport(app=SecurityHeadersMiddleware(own_cache))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/")

    response = run_on_own_loop(main())
    assert response.headers["cache-control"] == "max-age=60"
    assert response.headers["x-frame-options"] == "DENY" and "strict-transport-security" not in response.headers
