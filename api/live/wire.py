"""Writing whole websocket messages straight to a connection's transport, encoded once.

A server's websocket frames are not masked, so the bytes of a message are the same for every
client that gets it: the hub's delivery frames a batch once and hands the same bytes to each
transport with one `write`, instead of one ASGI `send` (and one framing) per client and message.

This needs the server's protocol object, which ASGI does not expose: `RawSocketMiddleware`, the
outermost middleware, records the `send` the server passed, a bound method of uvicorn's sans-I/O
websocket protocol. Anything else (another server or websocket implementation, a negotiated
extension such as permessage-deflate, a test double) gets no `RawSocket`, and its session
sends through ASGI as before. Writes are whole frames, made synchronously between the
protocol's own (which are whole frames too), and stop once the protocol starts closing.
"""

import struct
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

SCOPE_KEY = "darkhorses.websocket_protocol"
_TEXT = 0x81  # FIN + text opcode


def text_frame(payload: bytes) -> bytes:
    """One unmasked, unfragmented text frame (RFC 6455 section 5.2)."""
    size = len(payload)
    if size < 126:
        return bytes((_TEXT, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", _TEXT, 126, size) + payload
    return struct.pack("!BBQ", _TEXT, 127, size) + payload


class RawSocket:
    """A connection's transport, for pre-framed messages; see the module docstring."""

    __slots__ = ("_protocol", "_transport")

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self._transport = protocol.transport

    @classmethod
    def of(cls, scope: Scope) -> "RawSocket | None":
        protocol = scope.get(SCOPE_KEY)
        if protocol is None:
            return None
        if type(protocol) is not WebSocketsSansIOProtocol or protocol.conn.extensions:
            return None
        return cls(protocol)

    @property
    def open(self) -> bool:
        protocol = self._protocol
        return (
            protocol.conn.state is State.OPEN
            and not protocol.close_sent
            and not self._transport.is_closing()
        )

    @property
    def writable(self) -> bool:
        """False while the transport's buffer is over its high-water mark (the client is not
        reading what it was sent): the flow control asyncio gives the protocol."""
        return bool(self._protocol.writable.is_set())

    def write(self, frame: bytes) -> None:
        self._transport.write(frame)

    def abort(self) -> None:
        """Drop the connection at once (a client that never reads a close frame)."""
        self._transport.abort()


class RawSocketMiddleware:
    """Outermost: records, for websocket scopes, the server's protocol behind `send`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            owner = getattr(send, "__self__", None)
            if owner is not None:
                scope[SCOPE_KEY] = owner
        await self.app(scope, receive, send)
