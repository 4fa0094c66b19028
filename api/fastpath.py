"""A fast path for the hottest request: a live book that is already in the micro-cache.

Polling clients ask for the same few books thousands of times a second. When the book is
cached (at most `book_cache_s` old), this pure-ASGI layer answers from the cached bytes, with
ETag revalidation, without FastAPI's routing, validation and serialisation. It sits inside
access control, so keys and rate limits still apply; anything else (a miss, `at=`, other
parameters, gzip) goes down the normal path, which builds and caches the book.
"""

import re
from urllib.parse import parse_qsl

from api.access import ASGIApp, Receive, Scope, Send
from api.book import OddsFormat
from api.microcache import Cached

BOOK_PATH = re.compile(r"^/v1/races/([^/]+)/book$")
TEMPLATE = "/v1/races/{race_id}/book"


class BookFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cached = self._cached(scope)
        if cached is None:
            await self.app(scope, receive, send)
            return
        scope["route_template"] = TEMPLATE
        body, etag = cached.body, cached.etag
        headers = [
            (b"content-type", b"application/json"),
            (b"cache-control", b"public, max-age=1"),
            (b"etag", etag),
            (b"vary", b"Accept-Encoding"),  # as the normal path's, which can gzip
        ]
        if _header(scope, b"if-none-match") == etag:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _cached(self, scope: Scope) -> Cached | None:
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        match = BOOK_PATH.match(scope["path"])
        if match is None or b"gzip" in (_header(scope, b"accept-encoding") or b""):
            return None
        query = scope.get("query_string", b"")
        if query:
            params = dict(parse_qsl(query.decode("latin-1")))
            if set(params) - {"odds_format"}:
                return None
            try:
                odds_format = OddsFormat(params.get("odds_format", OddsFormat.DECIMAL.value))
            except ValueError:
                return None  # the normal path answers 422
        else:
            odds_format = OddsFormat.DECIMAL
        state = scope.get("state", {}).get("state")
        if state is None:
            return None
        cached: Cached | None = state.book_cache.peek((match.group(1), odds_format))
        return cached


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None
