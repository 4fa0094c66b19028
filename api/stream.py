"""Websocket live odds (`/v1/stream`), its REST helpers, and the legacy raw feed.

WS   /v1/stream           the live protocol (docs: /asyncapi.json, README "Live stream")
POST /v1/stream/token     a short-lived access token for browsers (HMAC-signed)
GET  /v1/stream/status    this process: readiness, positions, lag, sources, counters
WS   /v1/stream/odds      legacy: every raw OddsSnapshot as {"type": "odds", "data": ...}
"""

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, WebSocket, WebSocketDisconnect
from pydantic import BaseModel

from api.errors import ApiError
from api.live.errors import AuthError, CloseCode, ErrorCode
from api.live.session import Session, dumps
from api.live.tokens import key_subject, mint_access
from api.state import AppState, WsState

router = APIRouter(prefix="/v1", tags=["stream"])

# Kept for the legacy feed: a client too slow to keep up is closed with this code.
CLOSE_TOO_SLOW = int(CloseCode.SLOW_CONSUMER)


class UnauthorizedError(ApiError):
    status_code = 401
    code = "unauthorized"


class AccessToken(BaseModel):
    token: str
    expires_in_s: int


@router.post("/stream/token", response_model=AccessToken)
async def mint_token(
    state: AppState, x_api_key: Annotated[str | None, Header()] = None
) -> AccessToken:
    """Exchange an API key (header `X-API-Key`) for a token a browser can put in the URL."""
    live = state.fanout.settings
    if state.fanout.credentials.open_mode:
        subject = "open"
    elif x_api_key is None or not await state.fanout.credentials.valid(x_api_key):
        raise UnauthorizedError("a valid X-API-Key header is required")
    else:
        subject = key_subject(x_api_key)
    token = mint_access(state.fanout.signer, subject, live.token_ttl_s)
    return AccessToken(token=token, expires_in_s=live.token_ttl_s)


@router.get("/stream/status")
async def stream_status(state: AppState, race_id: str | None = None) -> dict[str, Any]:
    """This process's live hub: readiness, Kafka positions, lag, source status and counters
    (and, with `race_id`, what the hub holds for that race)."""
    status = state.fanout.describe()
    if race_id is not None:
        book = state.fanout.store.races.get(race_id)
        status["race"] = (
            None
            if book is None
            else {
                "race_id": race_id,
                "seq": book.seq,
                "has_card": book.card is not None,
                "market": None if book.market is None else book.market.status.value,
                "runners": len(book.quotes),
            }
        )
    return status


@router.websocket("/stream")
async def live_stream(
    websocket: WebSocket,
    state: WsState,
    api_key: str | None = None,
    token: str | None = None,
) -> None:
    """The live protocol; credentials in the query, an `X-API-Key` header or an `auth` frame."""
    hub = state.fanout
    await websocket.accept()
    await hub.ready.wait()
    session = Session(hub, websocket, hub.connection_id())
    header_key = websocket.headers.get("x-api-key")
    credentials = api_key or header_key, token
    hub.sessions.add(session)
    session.writer = asyncio.create_task(session.write())
    try:
        if not session.authenticated and (credentials[0] or credentials[1]):
            try:
                await session.authenticate(*credentials)
            except AuthError as error:
                session.send_frame(error.frame())
                session.request_close(CloseCode.UNAUTHORIZED, error.code.value, notice=False)
        session.send_frame(session.welcome())
        await _read(websocket, session)
    finally:
        hub.sessions.discard(session)
        await session.close()


async def _read(websocket: WebSocket, session: Session) -> None:
    first = True
    while session.closing is None:
        try:
            receive = websocket.receive()
            if first:
                message = await asyncio.wait_for(receive, session.settings.first_frame_timeout_s)
            else:
                message = await receive
        except TimeoutError:
            error = AuthError(
                "no frame within the first-frame timeout", code=ErrorCode.INVALID_FRAME
            )
            session.send_frame(error.frame())
            session.request_close(
                CloseCode.FIRST_FRAME_TIMEOUT, "first_frame_timeout", notice=False
            )
            break
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        first = False
        text = message.get("text")
        data = text if text is not None else message.get("bytes") or b""
        await session.handle(data)
    # Closing: wait for the close handshake (or the client leaving) before cleaning up.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(session.closed.wait(), 10)


@router.websocket("/stream/odds")
async def odds_stream(
    websocket: WebSocket,
    state: WsState,
    race_id: Annotated[list[str] | None, Query()] = None,
) -> None:
    """Legacy: push every new price (optionally only for `race_id`s) as `{"type": "odds"}`."""
    await websocket.accept()
    await websocket.send_text(dumps({"type": "welcome", "races": race_id or "all"}))
    with state.fanout.raw_listener(frozenset(race_id) if race_id else None) as outbox:
        receiver = asyncio.create_task(_drain_client(websocket))
        try:
            while not receiver.done():
                getter = asyncio.create_task(outbox.ready.wait())
                done, _ = await asyncio.wait(
                    {getter, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:
                    getter.cancel()
                    continue
                if outbox.overflowing:
                    await websocket.close(code=CLOSE_TOO_SLOW, reason="client too slow")
                    return
                for entry in outbox.drain(256):
                    await websocket.send_text(entry.to_text())
        except WebSocketDisconnect:
            return
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await receiver


async def _drain_client(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
