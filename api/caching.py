"""HTTP caching: strong ETags with 304 revalidation, and per-route Cache-Control.

The ETag middleware hashes complete GET bodies (our JSON responses are never streamed), so a
client polling an unchanged book gets a tiny 304 instead of the book.
"""

import hashlib
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Response

from api.access import ASGIApp, Message, Receive, Scope, Send


def etag_of(body: bytes) -> bytes:
    return b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'


def cache_for(seconds: int) -> Callable[[Response], Coroutine[Any, Any, None]]:
    """A route dependency setting `Cache-Control: public, max-age=<seconds>`.

    Async so FastAPI runs it inline; a plain function would cost a thread-pool hop per request.
    A route that returns its own `Response` must set the header itself (see `race_book`).
    """

    async def set_cache_control(response: Response) -> None:
        response.headers["Cache-Control"] = f"public, max-age={seconds}"

    return set_cache_control


class ETagMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await _finish(scope, send, start, b"".join(chunks))

        await self.app(scope, receive, buffer)


async def _finish(scope: Scope, send: Send, start: Message | None, body: bytes) -> None:
    if start is None:
        raise RuntimeError("ASGI app sent a response body before its start")
    headers: list[Any] = list(start.get("headers", []))
    if start["status"] == 200:
        etag = etag_of(body)
        headers.append((b"etag", etag))
        if _if_none_match(scope) == etag:
            kept = [
                (k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type")
            ]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _if_none_match(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            return bytes(value)
    return None
