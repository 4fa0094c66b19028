"""Websocket: live odds pushed to subscribers as they arrive on Kafka."""

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from api.state import WsState

router = APIRouter(prefix="/v1", tags=["stream"])

# Close code for a client too slow to keep up (4000-4999 are application codes).
CLOSE_TOO_SLOW = 4008


@router.websocket("/stream/odds")
async def odds_stream(
    websocket: WebSocket,
    state: WsState,
    race_id: Annotated[list[str] | None, Query()] = None,
) -> None:
    """Push every new price (optionally only for `race_id`s) as `{"type": "odds", "data": ...}`."""
    await websocket.accept()
    await websocket.send_json({"type": "welcome", "races": race_id or "all"})
    with state.fanout.subscribe(frozenset(race_id) if race_id else None) as subscriber:
        receiver = asyncio.create_task(_drain_client(websocket))
        try:
            while not receiver.done():
                getter = asyncio.create_task(subscriber.queue.get())
                overflow = asyncio.create_task(subscriber.overflowed.wait())
                done, _ = await asyncio.wait(
                    {getter, overflow, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
                for task in (getter, overflow):
                    if task not in done:
                        task.cancel()
                if overflow in done:
                    await websocket.close(code=CLOSE_TOO_SLOW, reason="client too slow")
                    return
                if getter in done:
                    await websocket.send_text(getter.result())
        except WebSocketDisconnect:
            return
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await receiver


async def _drain_client(websocket: WebSocket) -> None:
    """Read (and for now ignore) client frames, so a disconnect is noticed promptly."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
