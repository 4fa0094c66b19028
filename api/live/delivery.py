"""The hub's delivery: one pass writes every waiting client's frames, each message encoded once.

Sessions with a `RawSocket` (see api/live/wire.py) have no writer task of their own. A new entry
in their outbox marks them due; one task then writes all due sessions in a single synchronous
pass, at most once per `coalesce_ms` (a quiet stream's first frame goes at once):

- a session's waiting frames go out as one message (newline-separated frames, at most
  `MAX_FRAMES_PER_MESSAGE`), so a client that is behind catches up in few messages;
- the message is framed once per distinct list of frames in the pass: 1,000 subscribers of a
  race with the same view and `sub_id` cost one encoding and 1,000 `write` calls;
- a session whose transport is over its high-water mark (the client is not reading) is skipped
  and stays due: its outbox keeps its frames, conflates them past the watermark (O(1) each) and
  closes it (4008) past the limit, as with the writer task. It costs the others one check a pass.

Lanes take the per-subscriber work out of each event. A live subscription of named races (no
card-based filter, no conflation window, not resumed) on a direct-write session joins one lane per
race with its view and `sub_id`; an event appends its rendered frame to the lane once, whatever
the number of members. The pass then writes the lane's message, encoded once, to every member
whose outbox is empty and whose transport is writable; a member that is behind (frames of its
own waiting, or not reading) gets the lane's frames in its outbox instead, after what waits
there, and from there is conflated and closed like any other. Outboxes are written first, so a
snapshot or status queued before the lane's frames reaches the client before them.

Under load the pass itself sets the pace: the next one waits at least `PASS_SHARE` times as long
as this one took (up to `MAX_GAP_S`), so delivery takes about a fifth of the process at most and
the rest of the time batches more frames per message, fewer messages per client.
"""

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from api.live.outbox import Entry, Kind
from api.live.views import Rendered, View
from api.live.wire import text_frame

if TYPE_CHECKING:
    from api.live.session import Session
    from api.live.subscription import Subscription

MAX_FRAMES_PER_MESSAGE = 256
PASS_SHARE = 4  # wait at least this many times the last pass's duration before the next
MAX_GAP_S = 0.05  # but never longer than this: a slow pass must not starve the next ones


@dataclass(eq=False)
class Lane:
    """The live frames of one race for subscriptions with one view and `sub_id`."""

    race_id: str
    view: View
    sub_id: str
    members: "dict[Subscription, int]" = field(default_factory=dict)  # -> first frame of its
    frames: list[tuple[Kind, Rendered]] = field(default_factory=list)


class Delivery:
    def __init__(self, coalesce_ms: int) -> None:
        self.coalesce_s = coalesce_ms / 1000
        self.due: set[Session] = set()
        self.lanes: dict[str, dict[tuple[View, str], Lane]] = {}
        self.lanes_due: set[Lane] = set()
        self.kick = asyncio.Event()
        self.last_pass = 0.0
        self.pass_s = 0.0
        self.passes = 0
        self.messages = 0
        self.encodings = 0

    def mark(self, session: "Session") -> None:
        self.due.add(session)
        if not self.kick.is_set():
            self.kick.set()

    def join(self, sub: "Subscription", race_id: str) -> None:
        lanes = self.lanes.setdefault(race_id, {})
        lane = lanes.get((sub.view, sub.sub_id))
        if lane is None:
            lane = lanes[(sub.view, sub.sub_id)] = Lane(race_id, sub.view, sub.sub_id)
        lane.members[sub] = len(lane.frames)  # what the lane holds now predates it

    def leave(self, sub: "Subscription", race_id: str) -> None:
        lanes = self.lanes.get(race_id, {})
        lane = lanes.get((sub.view, sub.sub_id))
        if lane is not None:
            lane.members.pop(sub, None)
            if not lane.members:
                del lanes[(sub.view, sub.sub_id)]
                self.lanes_due.discard(lane)
                if not lanes:
                    del self.lanes[race_id]

    def race_lanes(self, race_id: str) -> list[Lane]:
        return list(self.lanes.get(race_id, {}).values())

    def offer(self, lane: Lane, kind: Kind, rendered: Rendered) -> None:
        lane.frames.append((kind, rendered))
        self.lanes_due.add(lane)
        if not self.kick.is_set():
            self.kick.set()

    async def run(self) -> None:
        while True:
            await self.kick.wait()
            gap = min(max(self.coalesce_s, PASS_SHARE * self.pass_s), MAX_GAP_S)
            wait = self.last_pass + gap - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.kick.clear()
            self.deliver()
            self.deliver_lanes()
            if self.due:  # stalled clients, or more than one message's worth: try again
                self.kick.set()

    def deliver(self) -> None:
        """One pass over every due session (synchronous: no frame can slip in between)."""
        started = self.last_pass = time.monotonic()
        due, self.due = self.due, set()
        encoded: dict[tuple[object, ...], bytes] = {}
        # Drained entries stay referenced until the pass ends: the cache keys on their ids.
        sent: list[list[Entry]] = []
        for session in due:
            raw = session.raw
            if raw is None or session.closing is not None or not raw.open:
                continue  # its closer sends what is left
            if not raw.writable:
                self.due.add(session)
                continue
            entries = session.outbox.drain(MAX_FRAMES_PER_MESSAGE)
            if not entries:
                continue
            key = tuple(entry.identity for entry in entries)
            frame = encoded.get(key)
            if frame is None:
                text = "\n".join(entry.to_text() for entry in entries)
                frame = encoded[key] = text_frame(text.encode())
            raw.write(frame)
            sent.append(entries)
            session.written(entries, started)
            if session.outbox.entries:
                self.due.add(session)
        self.passes += 1
        self.messages += len(sent)
        self.encodings += len(encoded)
        self.pass_s = time.monotonic() - started

    def deliver_lanes(self) -> None:
        """Each due lane's frames to its members: one encoding, one write each (see above)."""
        started = time.monotonic()
        due, self.lanes_due = self.lanes_due, set()
        for lane in due:
            frames, lane.frames = lane.frames, []
            if not frames:
                continue
            token = next((r.body.get("token") for _, r in reversed(frames)
                          if r.body.get("token")), None)  # fmt: skip
            message: bytes | None = None
            for sub, start in list(lane.members.items()):
                lane.members[sub] = 0
                mine = frames[start:] if start else frames
                session = sub.session
                raw = session.raw
                if not mine or session.closing is not None or raw is None:
                    continue
                if session.outbox.entries or not raw.writable or not raw.open:
                    for kind, rendered in mine:  # behind: its own queue, conflated there
                        sub.queue(kind, lane.race_id, rendered)
                    continue
                if start:
                    text = "\n".join(r.frame(kind, lane.sub_id) for kind, r in mine)
                    raw.write(text_frame(text.encode()))
                else:
                    if message is None:
                        text = "\n".join(r.frame(kind, lane.sub_id) for kind, r in frames)
                        message = text_frame(text.encode())
                        self.encodings += 1
                    raw.write(message)
                self.messages += 1
                session.last_sent = session.last_written = started
                if token is not None:
                    sub.last_token = session.sent_tokens[lane.sub_id] = token
                session.hub.counters["frames_sent"] += len(mine)
        self.pass_s += time.monotonic() - started
