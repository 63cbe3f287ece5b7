"""Oversized requests are refused with 413 before they are read (uploads that stream enforce their own limit)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

MAX_JSON_BYTES = 1_000_000


class BodyLimit:
    """413 when Content-Length says more than `max_bytes`, or when a chunked body grows past it."""

    def __init__(self, app: ASGIApp, max_bytes: int, unlimited: tuple[str, ...] = ()) -> None:
        self.app, self.max_bytes, self.unlimited = app, max_bytes, unlimited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.unlimited:
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        received = 0

        async def limited() -> dict[str, object]:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b"")) if message["type"] == "http.request" else 0
            if received > self.max_bytes:
                raise _TooLarge
            return dict(message)

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(send, self.max_bytes)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = f'{{"detail":"the request body is larger than {limit} bytes"}}'.encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
