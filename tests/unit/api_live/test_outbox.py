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


def test_conflation_copies_a_shared_frame_once_then_merges_in_place() -> None:
    import orjson

    shared = delta(0, -1, "t0")
    box = Outbox(watermark=1, limit=1_000)
    box.put("delta", "s", "r", shared)
    for n in range(1, 200):
        body = delta(n, n - 1, f"t{n}").body
        body["prices"] = [{"horse_id": f"h{n % 3}", "bookmaker_id": "b", "price": str(n)}]
        box.put("delta", "s", "r", type(shared)(body))
    assert len(box.entries) == 1
    merged = box.drain(10)[0].rendered
    assert merged is not None
    assert merged is not shared
    assert shared.body["conflated"] is False  # other subscribers' frame is untouched
    assert merged.merged is not None  # an index by key, updated per event: no rebuild
    sent = orjson.loads(merged.json)
    assert (sent["seq"], sent["prev_seq"], sent["token"], sent["conflated"]) == (199, -1, "t0",
                                                                                True)  # fmt: skip
    assert {(p["horse_id"], p["price"]) for p in sent["prices"]} == {
        ("h", "0"), ("h0", "198"), ("h1", "199"), ("h2", "197"),
    }  # fmt: skip
    assert merged.updates == 200
