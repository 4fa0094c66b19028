from api.live.outbox import Outbox
from api.live.views import Rendered


def delta(seq: int, prev: int, token: str) -> Rendered:
    return Rendered({"race_id": "r", "seq": seq, "prev_seq": prev, "token": token,
                     "conflated": False, "prices": [{"horse_id": "h", "bookmaker_id": "b",
                                                     "price": str(seq)}]})  # fmt: skip


def test_below_the_watermark_every_frame_is_queued() -> None:
    box = Outbox(watermark=10, limit=100)
    for n in range(5):
        box.put("delta", "s", "r", delta(n, n - 1, f"t{n}"))
    assert [e.rendered.body["seq"] for e in box.drain(100) if e.rendered] == [0, 1, 2, 3, 4]
    assert box.pending_updates == 0


def test_past_the_watermark_deltas_merge_in_place_and_count_toward_the_limit() -> None:
    box = Outbox(watermark=2, limit=5)
    box.put("delta", "s", "r", delta(0, -1, "t0"))
    box.put("delta", "s", "other", delta(1, -1, "t1"))
    for n in range(2, 6):
        box.put("delta", "s", "r", delta(n, n - 1, f"t{n}"))
    assert box.conflated_updates == 4
    assert box.pending_updates == 6
    assert box.overflowing
    entries = box.drain(100)
    assert [e.race_id for e in entries] == ["r", "other"]
    merged = entries[0].rendered
    assert merged is not None
    assert (merged.body["seq"], merged.body["prev_seq"], merged.body["token"]) == (5, -1, "t0")
    assert merged.updates == 5


def test_dropping_a_subscription_removes_its_frames() -> None:
    box = Outbox(watermark=10, limit=100)
    box.put("delta", "a", "r", delta(0, -1, "t"))
    box.put("delta", "b", "r", delta(0, -1, "t"))
    box.drop_subscription("a")
    assert [e.sub_id for e in box.drain(10)] == ["b"]
