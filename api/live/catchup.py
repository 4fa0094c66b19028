"""Resume catch-up and replay: history read back from Kafka for one subscription at a time.

The live hub starts these as tasks; they hold one of `history_readers` slots while reading, and
wait for the client (never drop) when its queue passes the watermark.
"""

import asyncio
import logging
from typing import TYPE_CHECKING

from api.live.errors import ErrorCode, LiveError
from api.live.history import HistoryReader, Window
from api.live.subscription import Subscription
from api.live.tokens import ResumePoint
from api.live.views import Rendered
from schemas.racecards import Racecard
from schemas.topics import ODDS_LIVE

if TYPE_CHECKING:
    from api.fanout import LiveHub

log = logging.getLogger(__name__)


def history_reader(hub: "LiveHub") -> HistoryReader:
    def card(race_id: str) -> Racecard | None:
        book = hub.store.races.get(race_id)
        return None if book is None else book.card

    return HistoryReader(hub.bootstrap_servers, hub.partitions, ODDS_LIVE.name, card)


async def catch_up(hub: "LiveHub", sub: Subscription, point: ResumePoint, until: list[int]) -> None:
    """Replay what a resuming subscription missed, then release its queued live updates."""
    session = sub.session
    try:
        async with hub.history_slots:
            reader = history_reader(hub)
            if not await reader.window_available(hub.start_offsets):
                raise LiveError(  # noqa: TRY301 (handled below like any history failure)
                    "history deleted", code=ErrorCode.HISTORY_UNAVAILABLE
                )
            window = Window(offsets=point.offsets)
            async for item in reader.read(
                hub.start_offsets, until, window, sub.matches, sub.view, hub.token_at
            ):
                if sub.session.closing is not None or session.subs.get(sub.sub_id) is not sub:
                    return
                sub.send(item.kind, item.race_id, item.rendered)  # type: ignore[arg-type]
                hub.counters["resume_replayed_updates"] += 1
                while len(session.outbox.entries) >= hub.settings.queue_watermark:
                    if session.closing is not None:
                        return
                    await asyncio.sleep(0.005)  # catch-up waits for the client, never drops
        hub.counters["resume_ok"] += 1
        sub.finish_catch_up()
    except (LiveError, OSError, Exception) as error:  # noqa: BLE001 (fall back to an image)
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
    session = sub.session
    count = 0
    try:
        async with hub.history_slots:
            reader = history_reader(hub)
            window = Window(start=request.from_, end=request.to)
            until = await reader.end_offsets()
            async for item in reader.read(
                hub.start_offsets, until, window, sub.matches, sub.view, None, request.speed
            ):
                if session.subs.get(sub.sub_id) is not sub or session.closing is not None:
                    return
                item.rendered.body["replay"] = True
                sub.queue(item.kind, item.race_id, Rendered(item.rendered.body))  # type: ignore[arg-type]
                count += 1
                while len(session.outbox.entries) >= hub.settings.queue_watermark:  # noqa: ASYNC110
                    await asyncio.sleep(0.005)  # replay waits for the client, never drops
    except Exception as error:  # noqa: BLE001 (reported to the client as an error frame)
        log.warning("replay for %s failed: %s", sub.sub_id, error)
        failure = LiveError(f"replay failed: {error}", code=ErrorCode.HISTORY_UNAVAILABLE,
                            retry_after_ms=5_000)  # fmt: skip
        session.send_frame(failure.frame())
        return
    session.send_frame({"type": "replay_end", "sub_id": sub.sub_id, "updates": count})
