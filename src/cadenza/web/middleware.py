"""ASGI middleware: request-body size limit and security headers on every response.

Both are plain ASGI (not ``BaseHTTPMiddleware``) so an oversize body is refused while it streams in,
before Starlette or python-multipart buffer it (reliability anchors T22), and streaming responses
are not wrapped in a task group.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Reliability anchors T37: CSP without inline scripts, no framing, no sniffing, no PHI in caches.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
HSTS_HEADER = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def _too_large_body(limit_bytes: int) -> bytes:
    shown = f"{limit_bytes / 2**20:g} MiB" if limit_bytes >= 2**20 else f"{limit_bytes / 2**10:g} KiB"
    return (
        f"Upload too large: the limit is {shown} ({limit_bytes} bytes). "
        "Trim or compress the file and try again."
    ).encode()


class BodySizeLimitMiddleware:
    """Answer 413 as soon as a request body is known to exceed ``max_body_bytes``."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > limit:
                    await self._reject(send, limit, status=413 if declared > limit else 400)
                    return
        received = 0
        response_started = False
        rejected = False

        async def limited_receive() -> Message:
            # Past the limit, answer 413 ourselves and tell the app the client went away: frameworks
            # turn exceptions raised while reading a body into their own 400, which would hide the cause.
            nonlocal received, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    rejected = True
                    if not response_started:
                        await self._reject(send, limit, status=413)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if rejected:
                return  # the 413 has been sent; drop whatever the app answers to the disconnect
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not rejected:
                raise

    @staticmethod
    async def _reject(send: Send, limit: int, *, status: int) -> None:
        body = _too_large_body(limit) if status == 413 else b"Malformed Content-Length header."
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    """Add :data:`SECURITY_HEADERS` (and HSTS over HTTPS) unless a route set its own value."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = SECURITY_HEADERS + ((HSTS_HEADER,) if scope.get("scheme") == "https" else ())

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((n, v) for n, v in extra if n not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ConcurrencyLimitMiddleware:
    """Let at most ``max_requests`` requests run at once; the rest wait their turn (in order).

    Used for SQLite: every transaction takes the single write lock up front, and a request keeps it
    across its hops between worker threads. With many requests in flight, the threads fill up with
    requests blocked on the lock while the holder waits for a thread to finish, and everything stalls
    until the busy timeout. A small limit keeps threads free for the lock holder.
    """

    def __init__(self, app: ASGIApp, *, max_requests: int) -> None:
        import asyncio

        self.app = app
        self.semaphore = asyncio.Semaphore(max_requests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith("/static/"):
            await self.app(scope, receive, send)
            return
        async with self.semaphore:
            await self.app(scope, receive, send)
