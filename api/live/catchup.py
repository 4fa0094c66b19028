"""Resume catch-up and replay: history read back from Kafka for one subscription at a time.

The live hub starts these as the subscription's `history` task, which the session cancels when
the subscription or the connection closes. Each holds one of `history_readers` slots while it
reads: acquired within `history_wait_s` (or given up: a resume falls back to a snapshot, a
replay gets an error frame) and released in `finally`, however the task ends. While the
client's queue is past the watermark they wait for it (never drop), but not for ever: a client
that reads nothing for `history_stall_s` is closed as a slow consumer.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from api.live.errors import CloseCode, ErrorCode, LiveError
from api.live.history import HistoryReader, Window, unavailable
from api.live.protocol import Replay
from api.live.subscription import Subscription
from api.live.tokens import ResumePoint
from api.live.views import Rendered
from schemas.racecards import Racecard
from schemas.topics import ODDS_LIVE

if TYPE_CHECKING:
    from api.fanout import LiveHub
    from api.live.session import Session

log = logging.getLogger(__name__)


def history_reader(hub: "LiveHub") -> HistoryReader:
    def card(race_id: str) -> Racecard | None:
        book = hub.store.races.get(race_id)
        return None if book is None else book.card

    return HistoryReader(hub.bootstrap_servers, hub.partitions, ODDS_LIVE.name, card)


@contextlib.asynccontextmanager
async def history_slot(hub: "LiveHub") -> AsyncIterator[None]:
    """One of the hub's history readers, waited for at most `history_wait_s`."""
    try:
        async with asyncio.timeout(hub.settings.history_wait_s):
            await hub.history_slots.acquire()
    except TimeoutError:
        hub.counters["history_slot_timeouts"] += 1
        raise unavailable(
            f"all {hub.settings.history_readers} history readers are busy; try again"
        ) from None
    hub.history_busy += 1
    try:
        yield
    finally:
        hub.history_busy -= 1
        hub.history_slots.release()


def _live(session: "Session", sub: Subscription) -> bool:
    return session.closing is None and session.subs.get(sub.sub_id) is sub


async def _wait_for_client(hub: "LiveHub", session: "Session", sub: Subscription) -> bool:
    """Wait while the client's queue is past the watermark; False once the subscription or
    session is gone, or the client stalled (then it is being closed as a slow consumer)."""
    stall_s = hub.settings.history_stall_s
    started = time.monotonic()
    while len(session.outbox.entries) >= hub.settings.queue_watermark:
        if not _live(session, sub):
            return False
        if time.monotonic() - max(session.last_written, started) > stall_s:
            hub.counters["slow_consumer_closes"] += 1
            session.request_close(CloseCode.SLOW_CONSUMER, "slow_consumer")
            return False
        await asyncio.sleep(0.005)
    return _live(session, sub)


async def catch_up(hub: "LiveHub", sub: Subscription, point: ResumePoint, until: list[int]) -> None:
    """Replay what a resuming subscription missed, then release its queued live updates."""
    session = sub.session
    try:
        async with history_slot(hub):
            reader = history_reader(hub)
            if not await reader.window_available(hub.start_offsets):
                raise LiveError(  # noqa: TRY301 (handled below like any history failure)
                    "history deleted", code=ErrorCode.HISTORY_UNAVAILABLE
                )
            window = Window(offsets=point.offsets)
            items = reader.read(
                hub.start_offsets, until, window, sub.matches, sub.view, hub.token_at
            )
            async with contextlib.aclosing(items):
                async for item in items:
                    if not _live(session, sub):
                        return
                    sub.send(item.kind, item.race_id, item.rendered)  # type: ignore[arg-type]
                    hub.counters["resume_replayed_updates"] += 1
                    if not await _wait_for_client(hub, session, sub):
                        return
        hub.counters["resume_ok"] += 1
        sub.finish_catch_up()
    except Exception as error:  # noqa: BLE001 (fall back to an image)
        if not _live(session, sub):
            return
        log.warning("resume of %s failed (%s); sending a snapshot", sub.sub_id, error)
        hub.counters["resume_window_exceeded"] += 1
        sub.pending.clear()
        sub.skip_below = ()
        sub.mode = "live"
        hub.snapshot_all(sub, "resume_window_exceeded")


async def replay(hub: "LiveHub", sub: Subscription) -> None:
    """Re-stream history for a replay subscription, then `replay_end`."""
    request = sub.request.replay
    if request is None:
        return
    try:
        await _replay(hub, sub, request)
    finally:
        hub.end_replay(sub)


async def _replay(hub: "LiveHub", sub: Subscription, request: Replay) -> None:
    session = sub.session
    count = 0
    try:
        async with history_slot(hub):
            reader = history_reader(hub)
            window = Window(start=request.from_, end=request.to)
            until = await reader.end_offsets()
            items = reader.read(
                hub.start_offsets, until, window, sub.matches, sub.view, None, request.speed
            )
            async with contextlib.aclosing(items):
                async for item in items:
                    if not _live(session, sub):
                        return
                    item.rendered.body["replay"] = True
                    sub.queue(item.kind, item.race_id, Rendered(item.rendered.body))  # type: ignore[arg-type]
                    count += 1
                    if not await _wait_for_client(hub, session, sub):
                        return
    except Exception as error:  # noqa: BLE001 (reported to the client as an error frame)
        if not _live(session, sub):
            return
        log.warning("replay for %s failed: %s", sub.sub_id, error)
        failure = error if isinstance(error, LiveError) else unavailable(f"replay failed: {error}")
        failure.detail["sub_id"] = sub.sub_id
        session.subs.pop(sub.sub_id, None)  # the client may subscribe again with the same id
        session.send_frame(failure.frame())
        return
    session.send_frame({"type": "replay_end", "sub_id": sub.sub_id, "updates": count})
