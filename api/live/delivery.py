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

Under load the pass itself sets the pace: the next one waits at least `PASS_SHARE` times as long
as this one took, so delivery never takes more than about a fifth of the process and the rest of
the time batches more frames per message, fewer messages per client.
"""

import asyncio
import time
from typing import TYPE_CHECKING

from api.live.outbox import Entry

if TYPE_CHECKING:
    from api.live.session import Session

from api.live.wire import text_frame

MAX_FRAMES_PER_MESSAGE = 256
PASS_SHARE = 4  # wait at least this many times the last pass's duration before the next


class Delivery:
    def __init__(self, coalesce_ms: int) -> None:
        self.coalesce_s = coalesce_ms / 1000
        self.due: set[Session] = set()
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

    async def run(self) -> None:
        while True:
            await self.kick.wait()
            gap = max(self.coalesce_s, PASS_SHARE * self.pass_s)
            wait = self.last_pass + gap - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.kick.clear()
            self.deliver()
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
