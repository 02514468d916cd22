"""ASGI middleware of the survey app: request-body limit and security headers; the
filter that keeps the admin token out of the access log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["MAX_BODY_BYTES", "BodyLimitMiddleware", "BodyTooLarge", "SecurityHeadersMiddleware"]

MAX_BODY_BYTES = 16 * 1024
"""Largest request body accepted (forms of the survey are far smaller)."""


class BodyTooLarge(Exception):
    """Raised while reading a streamed body once it passes the limit (answered with 413)."""


class BodyLimitMiddleware:
    """Reject request bodies larger than ``max_bytes`` with 413 (declared or streamed).

    A declared ``Content-Length`` over the limit is refused before the application runs;
    a streamed (chunked) body raises :class:`BodyTooLarge` from ``receive`` once it
    passes the limit, which this middleware turns into 413 when no answer has started.
    ``error(scope, status, detail)``, when given, builds that answer (an ASGI app, e.g. the
    study's error page); otherwise it is plain text.
    """

    def __init__(self, app: Any, max_bytes: int = MAX_BODY_BYTES,
                 error: Callable[[dict, int, str], Any] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.error = error

    async def _refuse(self, scope: dict, receive: Any, send: Any, status: int,
                      detail: str) -> None:
        if self.error is None:
            await plain_response(send, status, detail)
        else:
            await self.error(scope, status, detail)(scope, receive, send)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                await self._refuse(scope, receive, send, 400, "malformed Content-Length header")
                return
            if too_big:
                await self._refuse(scope, receive, send, 413,
                                   f"request body larger than {self.max_bytes} bytes")
                return
        seen = 0
        started = False

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send, 413,
                                   f"request body larger than {self.max_bytes} bytes")


class SecurityHeadersMiddleware:
    """Add a strict Content-Security-Policy and related headers to every response.

    No inline script or style is allowed: pages load ``/static/survey.js`` and
    ``/static/survey.css`` only, and SVG figures are inline markup (no scripts).
    """

    HEADERS = (
        (b"content-security-policy",
         b"default-src 'self'; img-src 'self' data:; media-src 'self'; "
         b"style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    )

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *self.HEADERS]
            await send(message)

        await self.app(scope, receive, add_headers)


async def plain_response(send: Any, status: int, text: str) -> None:
    """Send a complete ``text/plain`` response from middleware."""
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
