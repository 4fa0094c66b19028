"""One websocket connection: authentication, requests, subscriptions, outbox and writer.

The reader (the websocket endpoint) hands every client frame to `handle`. Outgoing frames wait
in the outbox; the hub's delivery writes them straight to the transport when the server allows
(`raw`, see api/live/delivery.py and api/live/wire.py), else a writer task of the session's own
sends them through ASGI; either way several frames per websocket message (newline-separated).
Closing is always done by `request_close`, which stops the writer, sends a `reconnect` frame
carrying each subscription's resume token (where one applies) and closes with a documented code.

Whatever a frame contains, `handle` answers it with frames (an `error` for anything wrong) and
never raises: a client cannot drop its own connection, or leave work behind, by what it sends.
Every task the session starts (writer, closer, each subscription's conflation flusher and
history reader) is cancelled and awaited by `close`, which the endpoint runs in `finally`.
"""

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import WebSocket, WebSocketDisconnect

from api.live.delivery import MAX_FRAMES_PER_MESSAGE
from api.live.errors import AuthError, CloseCode, ErrorCode, LiveError, ProtocolError
from api.live.outbox import Entry, Kind, Outbox
from api.live.protocol import Auth, ClientFrame, Ping, Resync, Subscribe, Unsubscribe, parse
from api.live.subscription import Subscription
from api.live.views import Rendered, View
from api.live.wire import RawSocket

if TYPE_CHECKING:
    from api.fanout import LiveHub

log = logging.getLogger(__name__)
MAX_CONSECUTIVE_ERRORS = 50
CLOSE_SEND_TIMEOUT_S = 5.0  # for a closing frame to leave the transport


def dumps(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


class Session:
    def __init__(self, hub: "LiveHub", websocket: WebSocket, connection_id: str) -> None:
        self.hub = hub
        self.settings = hub.settings
        self.websocket = websocket
        self.connection_id = connection_id
        # Written by the hub's delivery when the server's transport can be reached, else by
        # `write` (a task the endpoint starts).
        scope = getattr(websocket, "scope", None)
        self.raw = RawSocket.of(scope) if isinstance(scope, dict) else None
        wake = None if self.raw is None else self._due
        self.outbox = Outbox(self.settings.queue_watermark, self.settings.queue_limit, wake)
        self.subs: dict[str, Subscription] = {}
        self.sent_tokens: dict[str, str] = {}
        self.heartbeat_s = self.settings.heartbeat_ms / 1000
        self.last_sent = time.monotonic()  # a frame was queued for sending (heartbeat clock)
        self.last_written = self.last_sent  # a send completed: the client is reading
        self.authenticated = hub.credentials.open_mode
        self.key_id: str | None = None  # the API key the connection is bound to
        client = getattr(websocket, "client", None)
        self.address = client.host if client is not None else "unknown"
        self.closing: CloseCode | None = None
        self.closed = asyncio.Event()
        self.errors_in_a_row = 0
        self.writer: asyncio.Task[None] | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    # -- credentials --------------------------------------------------------------------------

    async def authenticate(self, api_key: str | None, token: str | None) -> None:
        self.key_id = await self.hub.credentials.authorize(self.hub.signer, api_key, token)
        self.authenticated = True

    @property
    def identity(self) -> str:
        """Whose quotas this connection counts against: its API key, else its address."""
        return f"key:{self.key_id}" if self.key_id is not None else f"ip:{self.address}"

    def revoke(self) -> None:
        """Its API key was revoked: drop what is queued, say why, close with 4001."""
        if self.closing is not None:
            return
        self.hub.counters["revoked_key_closes"] += 1
        self.outbox.drain(len(self.outbox.entries))
        self.send_frame(AuthError("the API key of this connection was revoked").frame())
        self.request_close(CloseCode.UNAUTHORIZED, "key_revoked", notice=False)

    # -- outgoing -----------------------------------------------------------------------------

    def welcome(self) -> dict[str, Any]:
        s = self.settings
        return {
            "type": "welcome",
            "connection_id": self.connection_id,
            "server_epoch": s.epoch,
            "auth_required": not self.authenticated,
            "heartbeat_ms": s.heartbeat_ms,
            "limits": {
                "max_subscriptions": s.max_subscriptions,
                "max_frame_bytes": s.max_frame_bytes,
                "first_frame_timeout_ms": int(s.first_frame_timeout_s * 1000),
                "heartbeat_ms": {"min": 500, "max": 30_000},
                "conflate_ms": {"min": 0, "max": s.max_conflate_ms},
                "queue_watermark": s.queue_watermark,
                "queue_limit": s.queue_limit,
            },
        }

    def send_frame(self, frame: dict[str, Any], tokens: dict[str, str] | None = None) -> None:
        self.outbox.put_text(dumps(frame), tokens)

    def put(self, kind: Kind, sub_id: str, race_id: str, rendered: Rendered) -> None:
        conflated = self.outbox.conflated_updates
        self.outbox.put(kind, sub_id, race_id, rendered)
        if self.outbox.conflated_updates != conflated:
            self.hub.counters["conflated_updates"] += 1
        if self.outbox.overflowing and self.closing is None:
            self.hub.counters["slow_consumer_closes"] += 1
            self.request_close(CloseCode.SLOW_CONSUMER, "slow_consumer")

    def tokens(self) -> dict[str, str]:
        """Each subscription's resume token as of the end of the outbox."""
        out: dict[str, str] = {}
        for sub in self.subs.values():
            if sub.mode == "live" and not sub.held:
                out[sub.sub_id] = self.hub.token()
            elif sub.mode != "replay" and sub.last_token is not None:
                out[sub.sub_id] = sub.last_token
        return out

    def _due(self) -> None:
        self.hub.delivery.mark(self)

    def written(self, entries: list[Entry], now: float) -> None:
        """`entries` are on the transport: their tokens now count as sent."""
        self.last_sent = self.last_written = now
        # Only now are they sent (uvicorn waits for a writable transport, then writes): a token
        # counts once its frame is on the wire, or a resume could skip frames.
        for entry in entries:
            if entry.sub_id is not None and entry.token is not None:
                self.sent_tokens[entry.sub_id] = entry.token
            if entry.tokens:
                self.sent_tokens.update(entry.tokens)
        self.hub.counters["frames_sent"] += len(entries)

    def heartbeat(self, lag_ms: int | None, status: dict[str, str]) -> None:
        tokens = self.tokens()
        frame = {"type": "heartbeat", "lag_ms": lag_ms, "status": status, "tokens": tokens}
        self.send_frame(frame, tokens)

    async def write(self) -> None:
        """Drain the outbox onto the socket until the session closes."""
        coalesce_s = self.settings.coalesce_ms / 1000
        while True:
            await self.outbox.ready.wait()
            # At most one send per `coalesce_ms`: the first frame after a quiet spell goes at
            # once, and under load one message carries whatever arrived meanwhile.
            wait = self.last_sent + coalesce_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            entries = self.outbox.drain(MAX_FRAMES_PER_MESSAGE)
            if not entries:
                continue
            self.last_sent = time.monotonic()
            await self.websocket.send_text("\n".join(e.to_text() for e in entries))
            self.written(entries, time.monotonic())

    def request_close(self, code: CloseCode, reason: str, notice: bool = True) -> None:
        if self.closing is not None:
            return
        self.closing = code
        task = asyncio.create_task(self._close(code, reason, notice))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _close(self, code: CloseCode, reason: str, notice: bool) -> None:
        if self.writer is not None:
            self.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.writer
        dropped = self.outbox.pending_updates
        left = self.outbox.drain(len(self.outbox.entries))
        # Each step is bounded and independent: a frame is on the transport as soon as its send
        # starts, the wait is only for the client to drain it. A slow reader whose buffers are
        # full must still get the close frame queued behind the notice, or the connection
        # would stay open with nobody reading from it.
        if code is not CloseCode.SLOW_CONSUMER and left:
            # e.g. the error frame that explains the close: deliver what is queued first
            text = "\n".join(e.to_text() for e in left)
            if await self._send_within(text, CLOSE_SEND_TIMEOUT_S):
                dropped = 0
        if notice:
            frame = {
                "type": "reconnect",
                "reason": reason,
                "close_code": int(code),
                "retry_after_ms": 1_000,
                "dropped_updates": dropped,
                "tokens": {k: v for k, v in self.sent_tokens.items() if k in self.subs},
            }
            await self._send_within(dumps(frame), CLOSE_SEND_TIMEOUT_S)
        # The server's close handshake has its own timeout (websockets' close_timeout), after
        # which it drops a client that never reads the close frame; but the close frame itself
        # waits for a writable transport, which a client that never reads never gives.
        try:
            await asyncio.wait_for(self.websocket.close(code=int(code), reason=reason),
                                   CLOSE_SEND_TIMEOUT_S)  # fmt: skip
        except TimeoutError:
            if self.raw is not None:
                self.raw.abort()
        except Exception:  # noqa: BLE001, S110 (gone already: nothing left to close)
            pass
        self.closed.set()

    async def _send_within(self, text: str, timeout_s: float) -> bool:
        try:
            await asyncio.wait_for(self.websocket.send_text(text), timeout_s)
        # the client is not reading, or gone (uvicorn raises OSError, Starlette RuntimeError)
        except (TimeoutError, OSError, RuntimeError, WebSocketDisconnect):
            return False
        return True

    # -- incoming -----------------------------------------------------------------------------

    async def handle(self, text: str | bytes) -> None:
        """Answer one client frame; never raises (see the module docstring)."""
        request_id: str | None = None
        try:
            frame = parse(text, self.settings.max_frame_bytes)
            request_id = frame.id
            await self._dispatch(frame)
            self.errors_in_a_row = 0
        except LiveError as error:
            self.hub.counters["client_errors"] += 1
            request_id = error.detail.pop("request_id", request_id)
            self._refuse(error, request_id)
        except Exception:
            # A bug, or an outage behind the request (e.g. the key store): the client gets an
            # error frame and keeps its connection; the trace goes to the log only.
            log.exception("request on %s failed", self.connection_id)
            self.hub.counters["internal_errors"] += 1
            failure = LiveError("the server could not handle this request",
                                code=ErrorCode.INTERNAL_ERROR, retry_after_ms=1_000)  # fmt: skip
            self._refuse(failure, request_id)

    def _refuse(self, error: LiveError, request_id: str | None) -> None:
        self.errors_in_a_row += 1
        self.send_frame(error.frame(request_id))
        if error.fatal:
            self.request_close(CloseCode.UNAUTHORIZED, error.code.value, notice=False)
        elif self.errors_in_a_row >= MAX_CONSECUTIVE_ERRORS:
            self.request_close(CloseCode.TOO_MANY_ERRORS, "too_many_errors", notice=False)

    async def _dispatch(self, frame: ClientFrame) -> None:
        if isinstance(frame, Auth):
            await self.authenticate(frame.api_key, frame.token)
            self._status(frame.id, "auth")
            return
        if not self.authenticated:
            raise AuthError("authenticate first: send {\"op\": \"auth\", \"api_key\": ...}",
                            code=ErrorCode.UNAUTHENTICATED)  # fmt: skip
        match frame:
            case Ping():
                self.send_frame({"type": "pong", "id": frame.id})
            case Subscribe():
                await self._subscribe(frame)
            case Unsubscribe():
                sub = self.subs.pop(frame.sub_id, None)
                if sub is None:
                    raise ProtocolError(f"no subscription {frame.sub_id!r}",
                                        code=ErrorCode.UNKNOWN_SUB_ID)  # fmt: skip
                self.hub.detach(sub)
                await sub.close()
                self.outbox.drop_subscription(frame.sub_id)
                self._status(frame.id, "unsubscribe", frame.sub_id)
            case Resync():
                sub = self.subs.get(frame.sub_id)
                if sub is None:
                    raise ProtocolError(f"no subscription {frame.sub_id!r}",
                                        code=ErrorCode.UNKNOWN_SUB_ID)  # fmt: skip
                self.hub.resync(sub, frame.race_id)
                self._status(frame.id, "resync", frame.sub_id)

    async def _subscribe(self, frame: Subscribe) -> None:
        if frame.sub_id in self.subs:
            raise ProtocolError(f"subscription {frame.sub_id!r} exists; unsubscribe first",
                                code=ErrorCode.DUPLICATE_SUB_ID)  # fmt: skip
        if len(self.subs) >= self.settings.max_subscriptions:
            raise ProtocolError(
                f"at most {self.settings.max_subscriptions} subscriptions per connection",
                code=ErrorCode.TOO_MANY_SUBSCRIPTIONS,
            )
        if frame.conflate_ms > self.settings.max_conflate_ms:
            raise ProtocolError(f"conflate_ms is at most {self.settings.max_conflate_ms}")
        if frame.replay is not None:
            self.hub.check_replay_quota(self.identity)
        sub = Subscription(self, frame, View.of(frame))
        self.subs[frame.sub_id] = sub
        self._status(frame.id, "subscribe", frame.sub_id)
        try:
            self.hub.attach(sub)
        except LiveError:
            self.subs.pop(frame.sub_id, None)
            raise

    def _status(self, request_id: str | None, op: str, sub_id: str | None = None) -> None:
        self.send_frame(
            {"type": "status", "id": request_id, "op": op, "sub_id": sub_id, "ok": True}
        )

    async def close(self) -> None:
        """Stop everything the session started: subscriptions (with their history readers and
        flushers), the closer and the writer. Runs once the connection is gone."""
        if self.closing is None:
            self.closing = CloseCode.NORMAL  # history readers and waits see it and stop
        subs, self.subs = list(self.subs.values()), {}
        for sub in subs:
            self.hub.detach(sub)
        tasks = [task for sub in subs for task in sub.tasks()]
        tasks.extend(self.tasks)
        if self.writer is not None:
            tasks.append(self.writer)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()
        self.closed.set()
