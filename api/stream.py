"""Websocket live odds (`/v1/stream`), its REST helpers, and the legacy raw feed.

WS   /v1/stream           the live protocol (docs: /asyncapi.json, README "Live stream")
POST /v1/stream/token     a short-lived access token for browsers (HMAC-signed, bound to the key)
GET  /v1/stream/status    this process: readiness, positions, lag, sources, counters
WS   /v1/stream/odds      legacy: every raw OddsSnapshot as {"type": "odds", "data": ...}

The HTTP routes are behind the API's access control like every other (api/access.py); the
websockets check the same keys themselves (api/live/credentials.py), from `?api_key=`,
`?token=`, `X-API-Key` or `Authorization: Bearer`, and /v1/stream also from an `auth` frame.
"""

import asyncio
import contextlib
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel

from api.access import caller_of
from api.errors import ApiError
from api.fanout import LiveHub
from api.live.errors import AuthError, CloseCode, ErrorCode, LiveError
from api.live.session import Session, dumps
from api.live.tokens import mint_access
from api.state import AppState, WsState

log = logging.getLogger(__name__)

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
async def mint_token(request: Request, state: AppState) -> AccessToken:
    """Exchange an API key (`X-API-Key` or `Authorization: Bearer`) for a token a browser can
    put in the URL. The token names the key's id: it stops working when the key is revoked."""
    live = state.fanout.settings
    caller = caller_of(request.scope)
    key_id = caller.key_id if caller is not None else None
    if key_id is None and not state.fanout.credentials.open_mode:
        raise UnauthorizedError("send an API key as X-API-Key or Authorization: Bearer")
    token = mint_access(state.fanout.signer, key_id, live.token_ttl_s)
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
    """The live protocol; credentials in the query, a header or an `auth` frame."""
    hub = state.fanout
    await websocket.accept()
    await hub.ready.wait()
    session = Session(hub, websocket, hub.connection_id())
    credentials = _presented(websocket, api_key, token)
    hub.sessions.add(session)
    if session.raw is None:  # else the hub's delivery writes for it
        session.writer = asyncio.create_task(session.write())
    try:
        if not session.authenticated and (credentials[0] or credentials[1]):
            try:
                await session.authenticate(*credentials)
            except AuthError as error:
                session.send_frame(error.frame())
                session.request_close(CloseCode.UNAUTHORIZED, error.code.value, notice=False)
            except Exception:  # e.g. the key store is down: say so, keep the connection
                log.warning("could not check the credentials of a connection", exc_info=True)
                session.send_frame(_unavailable().frame())
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


def _presented(
    websocket: WebSocket, api_key: str | None, token: str | None
) -> tuple[str | None, str | None]:
    """The API key (query, `X-API-Key` or `Authorization: Bearer`) and token a client sent."""
    header = websocket.headers.get("x-api-key")
    authorization = websocket.headers.get("authorization", "")
    bearer = authorization[7:] if authorization[:7].lower() == "bearer " else None
    return api_key or header or bearer, token


def _unavailable() -> LiveError:
    return LiveError("credentials could not be checked; try again",
                     code=ErrorCode.INTERNAL_ERROR, retry_after_ms=1_000)  # fmt: skip


async def _admit(
    hub: LiveHub, websocket: WebSocket, api_key: str | None, token: str | None
) -> tuple[bool, str | None]:
    """Whether a legacy-feed client may stream, and its key; a refusal is sent and closed."""
    if hub.credentials.open_mode:
        return True, None
    try:
        return True, await hub.credentials.authorize(
            hub.signer, *_presented(websocket, api_key, token)
        )
    except AuthError as error:
        refusal: LiveError = error
        code = int(CloseCode.UNAUTHORIZED)
    except Exception:  # the key store is down: the client may try again
        log.warning("could not check the credentials of a connection", exc_info=True)
        refusal, code = _unavailable(), 1011  # internal error
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await websocket.send_text(dumps(refusal.frame()))
        await websocket.close(code=code, reason=refusal.code.value)
    return False, None


@router.websocket("/stream/odds")
async def odds_stream(
    websocket: WebSocket,
    state: WsState,
    race_id: Annotated[list[str] | None, Query()] = None,
    api_key: str | None = None,
    token: str | None = None,
) -> None:
    """Legacy: push every new price (optionally only for `race_id`s) as `{"type": "odds"}`.
    Credentials as for /v1/stream, except that there is no `auth` frame."""
    await websocket.accept()
    admitted, key_id = await _admit(state.fanout, websocket, api_key, token)
    if not admitted:
        return
    await websocket.send_text(dumps({"type": "welcome", "races": race_id or "all"}))
    races = frozenset(race_id) if race_id else None
    with state.fanout.raw_listener(races, key_id) as listener:
        outbox = listener.outbox
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
                if listener.revoked:
                    revoked = AuthError("the API key of this connection was revoked")
                    await websocket.send_text(dumps(revoked.frame()))
                    await websocket.close(code=int(CloseCode.UNAUTHORIZED), reason="key_revoked")
                    return
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
