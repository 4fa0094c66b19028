"""A client's bounded, conflating queue of frames.

Below the watermark every frame is queued as is. Past it, a new delta for a (subscription, race)
that already has a delta waiting is merged into it, in place (newest price per key, flagged
`conflated`, keeping its older resume token so no token claims an update still queued).
Past the hard limit of pending updates the client is too slow: the session closes it.
Merging costs the size of the new delta, not of what is waiting (see `views.merge_deltas`).
"""

import asyncio
import itertools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from api.live.views import Rendered, merge_deltas, replace_market

Kind = Literal["delta", "market", "snapshot", "other"]


@dataclass(slots=True)
class Entry:
    kind: str
    sub_id: str | None
    race_id: str | None
    rendered: Rendered | None  # data frames
    text: str | None  # frames made whole (control frames)
    tokens: dict[str, str] | None = None  # heartbeat: the resume token of each subscription

    def to_text(self) -> str:
        if self.text is not None:
            return self.text
        if self.rendered is None or self.sub_id is None:
            raise ValueError("a data entry needs a rendered body and a sub_id")
        return self.rendered.frame(self.kind, self.sub_id)

    @property
    def token(self) -> str | None:
        return None if self.rendered is None else self.rendered.body.get("token")

    @property
    def updates(self) -> int:
        return 1 if self.rendered is None else self.rendered.updates

    @property
    def identity(self) -> object:
        """Equal for entries that make the same text (within one pass over live entries): the
        delivery encodes a message once for every client whose entries match."""
        if self.text is not None:
            return self.text
        return (id(self.rendered), self.kind, self.sub_id)


class Outbox:
    def __init__(self, watermark: int, limit: int, wake: Callable[[], None] | None = None) -> None:
        self.watermark = watermark
        self.wake = wake  # called on every new entry (the hub's delivery, for direct writes)
        self.limit = limit
        self.entries: OrderedDict[object, Entry] = OrderedDict()
        self.last_for: dict[tuple[str, str, str], object] = {}
        self.pending_updates = 0
        self.conflated_updates = 0
        self.ready = asyncio.Event()
        self._keys = itertools.count()

    @property
    def overflowing(self) -> bool:
        return self.pending_updates > self.limit

    def put_text(self, text: str, tokens: dict[str, str] | None = None) -> None:
        self._append(Entry("other", None, None, None, text, tokens))

    def put(self, kind: Kind, sub_id: str, race_id: str, rendered: Rendered) -> None:
        slot = (sub_id, race_id, kind)
        if len(self.entries) >= self.watermark and kind in ("delta", "market"):
            key = self.last_for.get(slot)
            waiting = self.entries.get(key) if key is not None else None
            if waiting is not None and waiting.rendered is not None:
                merge = merge_deltas if kind == "delta" else replace_market
                waiting.rendered = merge(waiting.rendered, rendered)  # in place: see views
                self.pending_updates += 1
                self.conflated_updates += 1
                return
        self.last_for[slot] = self._append(Entry(kind, sub_id, race_id, rendered, None))

    def _append(self, entry: Entry) -> object:
        key = next(self._keys)
        self.entries[key] = entry
        self.pending_updates += entry.updates
        self.ready.set()
        if self.wake is not None:
            self.wake()
        return key

    def drain(self, max_frames: int) -> list[Entry]:
        out: list[Entry] = []
        while self.entries and len(out) < max_frames:
            _, entry = self.entries.popitem(last=False)
            self.pending_updates -= entry.updates
            out.append(entry)
        if not self.entries:
            self.ready.clear()
            self.last_for.clear()
        return out

    def drop_subscription(self, sub_id: str) -> None:
        for key in [k for k, e in self.entries.items() if e.sub_id == sub_id]:
            self.pending_updates -= self.entries.pop(key).updates
