"""One subscription of one session: which races, which view, and how updates reach the outbox.

A subscription is in one of three modes: live (updates go straight to the outbox, or through
its conflation window), catching up after a resume (live updates wait in `pending` while the
history reader replays what the client missed), or replaying history (no live updates).
"""

import asyncio
import contextlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from api.live.book import RaceBook
from api.live.outbox import Kind
from api.live.protocol import DataField, Filter, Subscribe, off_time_matches
from api.live.views import Rendered, View, merge_deltas, replace_market

if TYPE_CHECKING:
    from api.live.session import Session


def race_matches(flt: Filter, book: RaceBook) -> bool:
    if flt.races is not None and book.race_id not in flt.races:
        return False
    if not flt.needs_card:
        return True
    card = book.card
    if card is None:
        return False
    return (
        (flt.courses is None or card.course_id in flt.courses or card.course in flt.courses)
        and (flt.regions is None or card.region.upper() in {r.upper() for r in flt.regions})
        and (flt.race_types is None or (card.race_type or "") in flt.race_types)
        and off_time_matches(card.off_dt, flt)
    )


@dataclass(slots=True)
class Pending:
    kind: Kind
    race_id: str
    rendered: Rendered
    partition: int
    offset: int


@dataclass(eq=False)
class Subscription:
    session: "Session"
    request: Subscribe
    view: View
    mode: str = "live"  # live | catching_up | replay
    last_token: str | None = None  # token of the last frame queued for this subscription
    pending: list[Pending] = field(default_factory=list)
    skip_below: tuple[int, ...] = ()
    held: "OrderedDict[tuple[str, str], tuple[Kind, Rendered]]" = field(default_factory=OrderedDict)
    flusher: asyncio.Task[None] | None = None
    history: asyncio.Task[None] | None = None  # its resume catch-up or replay
    replay_quota: str | None = None  # the identity whose replay quota it counts against
    matched: dict[str, bool] = field(default_factory=dict)
    laned: bool = False  # its races' live deltas come through delivery lanes

    @property
    def sub_id(self) -> str:
        return self.request.sub_id

    @property
    def wants_market(self) -> bool:
        return DataField.MARKET in self.view.fields

    def matches(self, book: RaceBook) -> bool:
        """Cached per race: a card-based filter is re-evaluated when the card changes."""
        hit = self.matched.get(book.race_id)
        if hit is None:
            hit = self.matched[book.race_id] = race_matches(self.request.filter, book)
        return hit

    def offer(
        self, kind: Kind, race_id: str, rendered: Rendered, partition: int, offset: int
    ) -> None:
        """A live update for a race this subscription matches."""
        if self.mode == "replay":
            return
        if self.mode == "catching_up":
            self.pending.append(Pending(kind, race_id, rendered, partition, offset))
            return
        if self.skip_below and offset < self.skip_below[partition]:
            return  # the client already had it (its token was ahead of this process at resume)
        self.send(kind, race_id, rendered)

    def send(self, kind: Kind, race_id: str, rendered: Rendered) -> None:
        if self.request.conflate_ms:
            key = (race_id, kind)
            held = self.held.get(key)
            if held is not None:
                merge = merge_deltas if kind == "delta" else replace_market
                rendered = merge(held[1], rendered)
            self.held[key] = (kind, rendered)  # keeps its place: tokens stay in order
            if self.flusher is None or self.flusher.done():
                self.flusher = asyncio.create_task(self._flush_later())
            return
        self.queue(kind, race_id, rendered)

    def queue(self, kind: Kind, race_id: str, rendered: Rendered) -> None:
        self.last_token = rendered.body.get("token") or self.last_token
        self.session.put(kind, self.sub_id, race_id, rendered)

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.request.conflate_ms / 1000)
        held, self.held = self.held, OrderedDict()
        for (race_id, _), (kind, rendered) in held.items():
            self.queue(kind, race_id, rendered)

    def finish_catch_up(self) -> None:
        pending, self.pending = self.pending, []
        self.mode = "live"
        for item in pending:
            self.offer(item.kind, item.race_id, item.rendered, item.partition, item.offset)

    def tasks(self) -> list[asyncio.Task[None]]:
        return [t for t in (self.flusher, self.history) if t is not None and not t.done()]

    async def close(self) -> None:
        """Cancel and await what the subscription started (its history reader releases its
        slot on the way out)."""
        tasks = self.tasks()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
