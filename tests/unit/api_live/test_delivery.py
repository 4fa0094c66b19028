"""The hub's delivery with direct writes: lanes, one encoding per message, laggards queued."""

from dataclasses import dataclass, field
from typing import Any

from api.live.delivery import Delivery
from api.live.outbox import Outbox
from api.live.protocol import DataField, OddsFormat
from api.live.views import Rendered, View
from api.live.wire import text_frame

VIEW = View(frozenset({DataField.PRICES}), OddsFormat.DECIMAL, None)


@dataclass
class FakeRaw:
    writable: bool = True
    open: bool = True
    written: list[bytes] = field(default_factory=list)

    def write(self, frame: bytes) -> None:
        self.written.append(frame)


@dataclass
class FakeHub:
    counters: dict[str, int] = field(default_factory=lambda: {"frames_sent": 0})


class FakeSession:
    def __init__(self, raw: FakeRaw) -> None:
        self.raw = raw
        self.hub = FakeHub()
        self.closing = None
        self.outbox = Outbox(watermark=2, limit=1_000)
        self.sent_tokens: dict[str, str] = {}
        self.last_sent = self.last_written = 0.0


@dataclass(eq=False)
class FakeSub:
    session: FakeSession
    sub_id: str = "s"
    view: View = VIEW
    last_token: str | None = None

    def queue(self, kind: Any, race_id: str, rendered: Rendered) -> None:
        self.session.outbox.put(kind, self.sub_id, race_id, rendered)


def delta(seq: int) -> Rendered:
    return Rendered({"race_id": "r", "seq": seq, "prev_seq": seq - 1, "token": f"t{seq}",
                     "conflated": False, "prices": []})  # fmt: skip


def test_text_frames_carry_their_length_in_the_three_encodings() -> None:
    assert text_frame(b"x")[:2] == b"\x81\x01"
    assert text_frame(b"x" * 200)[:4] == b"\x81\x7e\x00\xc8"
    assert text_frame(b"x" * 70_000)[:2] == b"\x81\x7f"
    assert len(text_frame(b"x" * 70_000)) == 70_000 + 10


def test_a_lane_encodes_once_and_a_client_that_does_not_read_is_queued_and_conflated() -> None:
    delivery = Delivery(coalesce_ms=10)
    readers = [FakeSession(FakeRaw()) for _ in range(3)]
    stalled = FakeSession(FakeRaw(writable=False))
    subs = [FakeSub(s) for s in [*readers, stalled]]
    for sub in subs:
        delivery.join(sub, "r")  # type: ignore[arg-type]
    (lane,) = delivery.race_lanes("r")
    for seq in range(1, 6):
        for _ in range(2):  # two passes' worth
            delivery.offer(lane, "delta", delta(seq))
        delivery.deliver_lanes()
    # Every reader got every frame, the same bytes, one message per pass.
    assert all(len(s.raw.written) == 5 for s in readers)
    assert readers[0].raw.written == readers[1].raw.written == readers[2].raw.written
    assert delivery.encodings == 5
    assert all(s.sent_tokens == {"s": "t5"} for s in readers)
    # The one that does not read got nothing written; its frames wait, merged past the watermark.
    assert stalled.raw.written == []
    assert stalled.outbox.pending_updates == 10
    assert len(stalled.outbox.entries) == 2
    assert stalled.outbox.conflated_updates == 8
