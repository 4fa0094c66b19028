"""Closing a slow consumer whose socket no longer drains: the notice and the close frame are both
put on the transport, in that order, even though neither send ever completes."""

import asyncio
from typing import Any, cast

import orjson
import pytest
from fastapi import WebSocket

from api.fanout import LiveHub
from api.live import session as session_module
from api.live.errors import CloseCode
from api.live.session import Session
from api.live.settings import LiveSettings


class StalledSocket:
    """A websocket whose peer has stopped reading: a frame reaches the transport when its send
    starts (as with uvicorn and websockets), but waiting for the transport to drain never ends.
    The close frame is queued the same way."""

    def __init__(self) -> None:
        self.transport: list[tuple[str, Any]] = []
        self.stalled = asyncio.Event()

    async def send_text(self, text: str) -> None:
        self.transport.append(("text", orjson.loads(text)))
        self.stalled.set()
        await asyncio.Event().wait()

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.transport.append(("close", (code, reason)))


async def test_a_stalled_slow_consumer_still_gets_the_notice_then_the_close_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "CLOSE_SEND_TIMEOUT_S", 0.01)
    socket = StalledSocket()
    hub = LiveHub("localhost:1", LiveSettings())
    session = Session(hub, cast(WebSocket, socket), "c1")
    session.writer = asyncio.create_task(session.write())
    session.send_frame({"type": "welcome"})
    await asyncio.wait_for(socket.stalled.wait(), 5)  # the writer sends the welcome, stalls

    session.request_close(CloseCode.SLOW_CONSUMER, "slow_consumer")
    await asyncio.wait_for(session.closed.wait(), 5)

    kinds = [kind for kind, _ in socket.transport]
    assert kinds == ["text", "text", "close"]
    assert socket.transport[0][1]["type"] == "welcome"
    notice = socket.transport[1][1]
    assert notice["type"] == "reconnect"
    assert notice["reason"] == "slow_consumer"
    assert notice["close_code"] == int(CloseCode.SLOW_CONSUMER)
    assert socket.transport[2][1] == (int(CloseCode.SLOW_CONSUMER), "slow_consumer")
