"""Request body size limit, enforced before any handler reads the body."""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Multipart framing around an upload (boundaries, part headers) on top of the file itself.
MULTIPART_SLACK = 64 * 1024


class BodyTooLarge(HTTPException):
    """The client sent more bytes than the route allows (an HTTPException so body parsers re-raise it)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds the limit of {limit} bytes")


class BodyLimitMiddleware:
    """Answers 413 when Content-Length, or the bytes actually received, exceed the route's limit."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_413(send, limit)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _counting(receive, limit), tracking_send)
        except BodyTooLarge:
            if not started:
                await _send_413(send, limit)


def _counting(receive: Receive, limit: int) -> Receive:
    """Return a receive callable that raises BodyTooLarge once more than `limit` bytes arrived."""
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


def _content_length(scope: Scope) -> int | None:
    """Return the declared Content-Length, or None when absent or unparsable."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, limit: int) -> None:
    """Send a JSON 413 error naming the limit."""
    body = json.dumps(
        {"error": {"code": "payload_too_large", "message": f"request body exceeds the limit of {limit} bytes"}}
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
